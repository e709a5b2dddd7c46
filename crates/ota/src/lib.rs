//! Over-the-air app management: one install pipeline for `gwe -I`, `engine_fetch` commands and
//! `apps_to_install/`: fetch, verify, extract, run `install.sh`, apply the program config, watch
//! the health window, roll back, and record versions, crash-consistently.
#![deny(missing_docs)]
