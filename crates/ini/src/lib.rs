//! The INI dialect of Python's `RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)`.
#![deny(missing_docs)]
