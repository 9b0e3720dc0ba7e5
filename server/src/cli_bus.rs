//! `paybus deliveries …`, `paybus replay …`, `paybus events archive`: operating the bus from a
//! shell, across every tenant (the CLI runs with the operator's access to the database).

use app::{
    domain::events::views::ReplayFilter,
    ssr::{
        bus::{
            maintenance,
            queries::{self, DeliveryFilter, Scope},
            replay::{self, ReplayRequest},
        },
        db::PageParams,
        AppState,
    },
    AppError,
};
use clap::Subcommand;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

#[derive(Subcommand, Debug)]
pub enum DeliveriesCommand {
    /// List dead deliveries (dead letters), newest first.
    Dead {
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Only this listener's.
        #[arg(long)]
        listener: Option<String>,
    },
    /// Put a dead delivery back in the queue (same delivery id, fresh attempts).
    Retry { id: String },
}

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// Event types or patterns, comma-separated (`payment.*,dispute.created`, `*`).
    #[arg(long = "types")]
    pub types: String,
    /// Only this tenant's events (default: every tenant).
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long)]
    pub actor: Option<String>,
    /// RFC 3339 start (inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// RFC 3339 end (exclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// Only to this listener.
    #[arg(long)]
    pub listener: Option<String>,
    /// Resume an existing job instead of starting one.
    #[arg(long)]
    pub resume: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum EventsCommand {
    /// Move events past retention (PAYBUS_EVENT_RETENTION_DAYS, or --days) to the archive now.
    Archive {
        #[arg(long)]
        days: Option<u32>,
    },
}

fn time_arg(raw: Option<&str>, name: &str) -> Result<Option<OffsetDateTime>, AppError> {
    raw.map(|r| OffsetDateTime::parse(r, &Rfc3339).map_err(|_| AppError::invalid("parameter_invalid_time", format!("--{name} must be RFC 3339"), Some(name))))
        .transpose()
}

pub async fn deliveries(state: &AppState, command: DeliveriesCommand) -> Result<(), AppError> {
    match command {
        DeliveriesCommand::Dead { limit, listener } => {
            let page = PageParams { limit: Some(limit), ..Default::default() };
            let list = queries::list_deliveries(&state.db, &Scope::Global, &DeliveryFilter { status: Some("dead".into()), listener }, &page).await?;
            if list.data.is_empty() {
                println!("no dead deliveries");
            }
            for d in list.data {
                println!("{}  {}  {}  attempts={}  {}", d.id, d.listener, d.event_type, d.attempts, d.last_error.unwrap_or_default());
            }
            Ok(())
        }
        DeliveriesCommand::Retry { id } => {
            let d = queries::retry_dead(&state.db, &Scope::Global, &id, state.bus.config().max_attempts, state.bus.now_ms()).await?;
            println!("{} is {} again; a running paybus will deliver it to {} shortly", d.id, d.status, d.listener);
            Ok(())
        }
    }
}

pub async fn replay(state: &AppState, args: ReplayArgs) -> Result<(), AppError> {
    let id = match args.resume {
        Some(id) => id,
        None => {
            let filter = ReplayFilter {
                types: args.types.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
                actor: args.actor,
                from: time_arg(args.from.as_deref(), "from")?,
                to: time_arg(args.to.as_deref(), "to")?,
                listener: args.listener,
            };
            let request = ReplayRequest::parse(&state.bus, filter)?;
            let tenant = args.tenant.map(app::domain::TenantId::try_from).transpose().map_err(|e| AppError::invalid("parameter_invalid", e.to_string(), Some("tenant")))?;
            let job = replay::create(&state.bus, tenant.as_ref(), &request, Some("cli")).await?;
            println!("replay {} matches {} events", job.id, job.total.unwrap_or(0));
            job.id
        }
    };
    let done = replay::run(&state.bus, &id, |p| {
        println!("  {:>5.1}%  {} events, {} deliveries enqueued", p.progress * 100.0, p.matched, p.enqueued);
    })
    .await?;
    println!("replay {} {}: {} events, {} deliveries enqueued", done.id, done.status, done.matched, done.enqueued);
    Ok(())
}

pub async fn events(state: &AppState, command: EventsCommand) -> Result<(), AppError> {
    match command {
        EventsCommand::Archive { days } => {
            let days = days.unwrap_or(state.config.bus.retention_days);
            let now = state.bus.now_ms();
            let moved = maintenance::archive_older_than(&state.db, now - i64::from(days) * 86_400_000, now).await?;
            println!("archived {moved} events older than {days} days");
            Ok(())
        }
    }
}
