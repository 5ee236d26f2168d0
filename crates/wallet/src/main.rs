//! `spondon`: the patient's wallet on the command line (work in progress).

fn main() -> std::process::ExitCode {
    eprintln!("spondon: the command-line interface is not built yet");
    std::process::ExitCode::FAILURE
}
