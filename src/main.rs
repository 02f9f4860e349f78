use std::process::ExitCode;

fn main() -> ExitCode {
    // No arguments inside a Lambda execution environment: serve the Runtime API.
    // Anything else is the command-line tool.
    let lambda =
        std::env::args_os().len() == 1 && std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    if lambda {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        return match rt.block_on(eks_audit_watch::lambda::run()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("eks-audit-watch: {e}");
                ExitCode::FAILURE
            }
        };
    }
    eks_audit_watch::cli::main()
}
