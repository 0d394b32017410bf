use std::process::ExitCode;

use clap::{Parser, Subcommand};
use itf_server::config::{Config, Profile};
use itf_server::flag;
use itf_server::report::{self, Days};
use itf_server::{telemetry, Application, StandaloneSimulator};

/// ITF Async: records a veteran's Intent to File request at once and
/// completes it with the provider in the background.
#[derive(Parser)]
#[command(name = "itf-async", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app and run the worker, as ITF_ROLE says (the default).
    Serve,
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Seal every ICN and name again under the current key
    /// (ITF_DATA_KEY_CURRENT, else the key file's last), in batches, while
    /// the service runs; then the old key can be removed from the file.
    RotateKeys,
    /// Print a report from the database DATABASE_URL names.
    Report {
        #[command(subcommand)]
        report: Report,
    },
    /// Show or set the rollout flag: which path each ITF type takes.
    Flag {
        #[command(subcommand)]
        flag: Flag,
    },
    /// Run the simulator of the Lighthouse API on its own. Point apps at it
    /// with LIGHTHOUSE_BASE_URL=http://HOST:PORT/_sim/lighthouse.
    Simulator {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:3100")]
        addr: std::net::SocketAddr,
        /// Calls each client may make in a rolling minute before a 429.
        #[arg(long, default_value_t = itf_server::development::simulator::DEFAULT_QUOTA_PER_MINUTE)]
        quota_per_minute: u32,
    },
}

#[derive(Subcommand)]
enum Report {
    /// Requests whose ITF the provider dated on a later Eastern Time day
    /// than we received them. Carries ICNs; the reading is audited.
    DateDrift {
        /// The first Eastern Time day the requests were received on.
        #[arg(long)]
        since: chrono::NaiveDate,
        /// The last day, included; today when left out.
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value_t = report::Format::Csv)]
        format: report::Format,
    },
}

#[derive(Subcommand)]
enum Flag {
    /// Every ITF type's flag, and who last set it.
    Show,
    /// Set an ITF type's flag: `off` (synchronous: the kill switch; what is
    /// queued keeps draining), `on`, or `percent N` of veterans. Audited.
    Set {
        /// compensation (pension and survivor stay off).
        itf_type: String,
        /// off, on, or percent N.
        #[arg(num_args = 1..=2, required = true)]
        rollout: Vec<String>,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprint!("{error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.profile);
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => itf_server::migrate(&config).await.map(|()| {
            tracing::info!("the database schema is up to date");
        }),
        Command::Simulator {
            addr,
            quota_per_minute,
        } => simulate(addr, quota_per_minute, &config).await,
        Command::Report { report } => return print_report(report, &config).await,
        Command::Flag { flag } => return flag_command(flag, &config).await,
        Command::RotateKeys => itf_server::rotate_keys(&config)
            .await
            .map(|(resealed, key)| {
                println!("rotate-keys: resealed={resealed} under={key}");
            }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // A setting found wrong at start-up, such as an unreadable key file,
        // is reported as the other settings problems are.
        Err(itf_server::StartError::Config(error)) => {
            eprint!("{error}");
            ExitCode::from(2)
        }
        Err(error) => {
            tracing::error!(%error, "itf-async stopped");
            eprintln!("itf-async: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn print_report(report: Report, config: &Config) -> ExitCode {
    let Report::DateDrift {
        since,
        until,
        format,
    } = report;
    let days = match until {
        Some(until) => Days::new(since, until),
        None => Days::since(since, chrono::Utc::now()),
    };
    let printed = match days {
        Ok(days) => report::from_the_command_line(config, days, format).await,
        Err(error) => Err(error),
    };
    match printed {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("itf-async report: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn flag_command(flag: Flag, config: &Config) -> ExitCode {
    let done = match flag {
        Flag::Show => flag::show_from_the_command_line(config).await,
        Flag::Set {
            itf_type,
            rollout,
            reason,
        } => flag::set_from_the_command_line(config, &itf_type, &rollout.join(" "), &reason)
            .await
            .map(|set| format!("{}\n", flag::line(&set))),
    };
    match done {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("itf-async flag: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), itf_server::StartError> {
    let profile = config.profile;
    let role = config.role;
    let database = config.database.clone();
    let development_surfaces = config.development_surfaces();
    let app = Application::build(config).await?;
    tracing::info!(
        address = %app.local_addr(),
        ?profile,
        ?role,
        ?database,
        development_surfaces,
        "itf-async is listening"
    );
    if profile == Profile::Development {
        println!("ITF Async is running at http://{}", app.local_addr());
    }
    app.run(shutdown_signal()).await
}

async fn simulate(
    addr: std::net::SocketAddr,
    quota_per_minute: u32,
    config: &Config,
) -> Result<(), itf_server::StartError> {
    let simulator = StandaloneSimulator::build(addr, quota_per_minute, &config.data_dir).await?;
    tracing::info!(address = %simulator.local_addr(), quota_per_minute, "the Lighthouse simulator is listening");
    println!(
        "Lighthouse simulator at http://{}{}",
        simulator.local_addr(),
        itf_server::config::SIMULATOR_ROOT
    );
    simulator.run(shutdown_signal()).await
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM can be watched");
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
}
