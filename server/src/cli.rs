//! The `paybus` command line: `serve` (default), `migrate`, `user create`, `demo seed`.

use std::io::BufRead;

use app::{
    domain::{EmailAddress, Name, Password},
    ssr::{config::Config, db::Db, services},
};
use clap::{Args, Parser, Subcommand};

use crate::startup::{self, Application, StartupError};

#[derive(Parser, Debug)]
#[command(name = "paybus", version, about = "Multi-tenant payment-event processor and merchant dashboard")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Demo data.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Measure startup, login latency and memory on this machine.
    Bench(crate::bench::BenchArgs),
    /// Dead letters and manual retry.
    #[command(subcommand)]
    Deliveries(crate::cli_bus::DeliveriesCommand),
    /// Re-deliver past events matching a filter, with progress (resumable).
    Replay(crate::cli_bus::ReplayArgs),
    /// Event retention.
    #[command(subcommand)]
    Events(crate::cli_bus::EventsCommand),
    /// Send signed Stripe events to a running paybus (like the Stripe CLI's trigger).
    #[command(subcommand)]
    Stripe(crate::cli_stripe::StripeCommand),
}

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// Create the demo tenants and login at startup (same as PAYBUS_DEMO=true).
    #[arg(long)]
    pub demo: bool,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a verified user owning a new tenant.
    Create {
        #[arg(long)]
        email: String,
        /// Name of the user's tenant.
        #[arg(long, default_value = "My workspace")]
        tenant_name: String,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// Make the user a platform operator (sees every tenant's bus statistics).
        #[arg(long)]
        platform_admin: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum DemoCommand {
    /// Re-create the demo: the login, and the demo tenants with a month of realistic data
    /// (the previous demo tenants are removed first; other tenants are never touched).
    Seed {
        /// Seed even though the database holds users or tenants that are not demo data.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    App(#[from] app::AppError),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

pub async fn run(cli: Cli, mut config: Config) -> Result<(), CliError> {
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => {
            config.demo |= args.demo;
            serve(config).await
        }
        Command::Migrate => {
            let db = Db::connect(config.database_url.expose(), 1, config.db_acquire_timeout).await.map_err(StartupError::from)?;
            db.migrate().await.map_err(StartupError::from)?;
            println!("migrations applied ({:?})", db.dialect);
            Ok(())
        }
        Command::User(UserCommand::Create { email, tenant_name, password_stdin, platform_admin }) => {
            let email = EmailAddress::parse(&email).map_err(|e| CliError::Input(e.to_string()))?;
            let tenant_name = Name::parse(&tenant_name, "tenant-name")?;
            let raw = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            } else {
                rpassword::prompt_password("Password: ")?
            };
            let password = Password::parse(&raw).map_err(|e| CliError::Input(e.to_string()))?;
            let state = startup::build_state(config).await?;
            let (user, tenant) = services::identity::create_verified_user(&state, email, password, tenant_name).await?;
            if platform_admin {
                app::ssr::db::users::set_platform_admin(&state.db.pool, &user.to_string(), true).await.map_err(app::AppError::from)?;
            }
            println!("created user {user} owning tenant {tenant}{}", if platform_admin { " (platform operator)" } else { "" });
            Ok(())
        }
        Command::Bench(args) => crate::bench::run(args, &config).await.map_err(|e| CliError::Input(format!("bench failed: {e}"))),
        Command::Deliveries(command) => {
            let state = startup::build_state(config).await?;
            Ok(crate::cli_bus::deliveries(&state, command).await?)
        }
        Command::Replay(args) => {
            let state = startup::build_state(config).await?;
            Ok(crate::cli_bus::replay(&state, args).await?)
        }
        Command::Stripe(command) => crate::cli_stripe::run(&config, command).await.map_err(|e| CliError::Input(e.to_string())),
        Command::Events(command) => {
            let state = startup::build_state(config).await?;
            Ok(crate::cli_bus::events(&state, command).await?)
        }
        Command::Demo(DemoCommand::Seed { force }) => {
            let state = startup::build_state(config).await?;
            if let Some(found) = services::demo::non_demo_data(&state.db).await? {
                if !force {
                    return Err(CliError::Input(crate::demo_ledger::refusal(&found)));
                }
                println!("demo: --force: the database also holds {found}; only the demo tenants are replaced");
            }
            let summary = crate::demo_ledger::seed(&state).await?;
            for line in summary.lines() {
                println!("{line}");
            }
            println!("demo login: {} / {}", services::demo::DEMO_EMAIL, services::demo::DEMO_PASSWORD);
            Ok(())
        }
    }
}

const MOCK_SECRET_KEY: &str = "sk_test_paybus_mock";
const MOCK_WEBHOOK_SECRET: &str = "whsec_paybus_mock";

async fn serve(mut config: Config) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let demo = config.demo;
    let dialect = if config.is_sqlite() { "sqlite" } else { "postgres" };
    // A demo without Stripe credentials talks to the built-in Stripe mock, so onboarding,
    // checkout, capture and refunds all work on a laptop (webhooks come back signed).
    let mock = if demo && config.stripe.secret_key.is_none() {
        let mock = crate::stripe_mock::StripeMock::start().await;
        config.stripe.api_base = mock.base.clone();
        config.stripe.secret_key = Some(app::ssr::config::Secret::new(MOCK_SECRET_KEY.to_owned()));
        config.stripe.platform_webhook_secrets.push(app::ssr::config::Secret::new(MOCK_WEBHOOK_SECRET.to_owned()));
        Some(mock)
    } else {
        None
    };
    let app = Application::build(config).await?;
    let url = format!("http://{}", app.local_addr());
    if let Some(mock) = &mock {
        mock.send_webhooks_to(&format!("{url}/webhook"), MOCK_WEBHOOK_SECRET);
        println!("stripe: no STRIPE_SECRET_KEY, so the demo uses the built-in Stripe mock at {}", mock.base);
    }
    if demo {
        // Seeded once into an empty database; kept across restarts; never mixed into real data.
        match crate::demo_ledger::plan(&app.state().db).await? {
            crate::demo_ledger::Plan::Seed => {
                let summary = crate::demo_ledger::seed(app.state()).await?;
                for line in summary.lines() {
                    println!("{line}");
                }
                println!("demo login: {} / {}", services::demo::DEMO_EMAIL, services::demo::DEMO_PASSWORD);
            }
            crate::demo_ledger::Plan::Keep => {
                let login = services::demo::ensure(app.state()).await?;
                println!("demo: the demo tenants are already seeded (kept; `paybus demo seed` re-creates them)");
                println!("demo login: {} / {}", login.email, login.password);
            }
            crate::demo_ledger::Plan::Refuse(found) => {
                println!("demo: not seeding: the database holds {found}; demo data is only created in an empty database (`paybus demo seed --force` adds it anyway)");
            }
        }
        if let Some(mock) = &mock {
            crate::demo_ledger::register_with_mock(app.state(), mock).await?;
        }
    }
    if services::mailbox::enabled(app.state()) {
        println!("mail: development transport; messages are not sent, read them at {url}/dev/mail");
    }
    println!("paybus listening on {url} ({dialect}; ready in {} ms)", started.elapsed().as_millis());
    app.run_until(startup::shutdown_signal()).await?;
    Ok(())
}
