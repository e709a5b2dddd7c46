//! Gateway Engine: identity, configuration, the check-in cycle and its reports.
#![deny(missing_docs)]
