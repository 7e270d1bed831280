//! The `eshm` command; see the `eshm_cli` library.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(eshm_cli::run(std::env::args_os()).code())
}
