//! `gwe-hub`: the hub server and its operator command line.

fn main() -> std::process::ExitCode {
    gwe_hub::cli::main()
}
