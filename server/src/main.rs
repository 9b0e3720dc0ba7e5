use clap::Parser;
use paybus_server::cli::{self, Cli};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn")))
        .init();
    let cli = Cli::parse();
    let config = match app::ssr::Config::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("paybus: configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match cli::run(cli, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paybus: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
