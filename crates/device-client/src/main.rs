//! `gdc`: the Gateway Device Client command line.

fn main() -> std::process::ExitCode {
    gwe_device_client::cli::main()
}
