fn main() -> std::process::ExitCode {
    whatsminer_exporter::cli::main()
}
