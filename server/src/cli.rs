//! The `outreach` command line.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use domain::{
    organisations::{self, CreateOrganisationError, OrganisationName},
    users::{self, CreateUserError, EmailAddress, Role},
};
use secrecy::SecretString;

use crate::{config::Config, demo, startup::Application};

#[derive(Debug, Parser)]
#[command(
    name = "outreach",
    version,
    about = "Self-hosted SMS outreach: Org Admins configure Twilio, campaigners run SMS campaigns.",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web app (the default when no command is given).
    Serve(ServeArgs),
    /// Manage organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage the people who sign in.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Default, clap::Args)]
struct ServeArgs {
    /// Demo mode: create a demo organisation with an Org Admin and a
    /// campaigner, and print how to sign in.
    #[arg(long, env = "OUTREACH_DEMO")]
    demo: bool,
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organisation.
    Create {
        /// The organisation's name (unique, case-insensitively).
        #[arg(long)]
        name: String,
        /// Whether it may use Outreach straight away.
        #[arg(long, value_enum, default_value_t = SubscriptionArg::Inactive)]
        subscription: SubscriptionArg,
    },
    /// Grant or withdraw an organisation's Outreach subscription.
    Subscription {
        /// The organisation's name.
        name: String,
        #[arg(value_enum)]
        state: SubscriptionArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SubscriptionArg {
    Active,
    Inactive,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user. The password comes from OUTREACH_PASSWORD, or is asked
    /// for without echo.
    Create {
        /// The name of the user's organisation.
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RoleArg {
    OrgAdmin,
    Campaigner,
}

/// A failure the person at the terminal can fix: printed as one line.
#[derive(Debug)]
struct UserError(String);

impl std::error::Error for UserError {}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn user_error(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UserError(message.into()))
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(
        cli.command.unwrap_or(Command::Serve(ServeArgs::default())),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<UserError>() {
                Some(message) => eprintln!("error: {message}"),
                // `{:#}` puts the cause chain on one line.
                None => eprintln!("error: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let pool = domain::db::connect(&config.database_url).await?;
    let now = domain::clock::now();
    match command {
        Command::Serve(args) => serve(config, pool, args).await,
        Command::Org(OrgCommand::Create { name, subscription }) => {
            let name = OrganisationName::parse(&name).map_err(|e| user_error(e.to_string()))?;
            let active = subscription == SubscriptionArg::Active;
            let organisation = organisations::insert_organisation(&pool, &name, active, now)
                .await
                .map_err(|e| match e {
                    CreateOrganisationError::DuplicateName(_) => user_error(e.to_string()),
                    CreateOrganisationError::Internal(e) => e,
                })?;
            println!("Created organisation \"{}\".", organisation.name);
            if !active {
                println!(
                    "Its Outreach subscription is inactive; grant it with: outreach org subscription \"{}\" active",
                    organisation.name
                );
            }
            Ok(())
        }
        Command::Org(OrgCommand::Subscription { name, state }) => {
            let name = OrganisationName::parse(&name).map_err(|e| user_error(e.to_string()))?;
            let active = state == SubscriptionArg::Active;
            if !organisations::set_subscription(&pool, &name, active).await? {
                return Err(user_error(format!("no organisation is named \"{name}\"")));
            }
            println!(
                "The Outreach subscription of \"{name}\" is now {}.",
                if active { "active" } else { "inactive" }
            );
            Ok(())
        }
        Command::User(UserCommand::Create { org, email, role }) => {
            let org_name = OrganisationName::parse(&org).map_err(|e| user_error(e.to_string()))?;
            let organisation = organisations::fetch_organisation_by_name(&pool, &org_name)
                .await?
                .ok_or_else(|| user_error(format!("no organisation is named \"{org_name}\"")))?;
            let email = EmailAddress::parse(&email).map_err(|e| user_error(e.to_string()))?;
            let role = match role {
                RoleArg::OrgAdmin => Role::OrgAdmin,
                RoleArg::Campaigner => Role::Campaigner,
            };
            let password = read_password(&email)?;
            users::insert_user(&pool, organisation.id, &email, role, password, now)
                .await
                .map_err(|e| match e {
                    CreateUserError::DuplicateEmail(_) | CreateUserError::Weak(_) => {
                        user_error(e.to_string())
                    }
                    CreateUserError::Internal(e) => e,
                })?;
            println!(
                "Created {} {email} in \"{}\".",
                role_label(role),
                organisation.name
            );
            Ok(())
        }
    }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::OrgAdmin => "Org Admin",
        Role::Campaigner => "campaigner",
    }
}

fn read_password(email: &EmailAddress) -> anyhow::Result<SecretString> {
    if let Ok(password) = std::env::var("OUTREACH_PASSWORD") {
        return Ok(password.into());
    }
    let first = rpassword::prompt_password(format!("Password for {email}: ")).map_err(|_| {
        user_error("no password given: set OUTREACH_PASSWORD or run this in a terminal")
    })?;
    let second = rpassword::prompt_password("Repeat the password: ").map_err(|_| {
        user_error("no password given: set OUTREACH_PASSWORD or run this in a terminal")
    })?;
    if first != second {
        return Err(user_error("the two passwords differ; nothing was created"));
    }
    Ok(first.into())
}

async fn serve(
    config: Config,
    pool: domain::db::SqlitePool,
    args: ServeArgs,
) -> anyhow::Result<()> {
    let demo = if args.demo {
        let data_dir = domain::db::database_directory(&config.database_url)
            .context("demo mode needs a file database")?;
        Some(demo::seed(&pool, &data_dir).await?)
    } else {
        None
    };
    let application = Application::build(config, pool).await?;
    let url = application.public_url().origin().to_owned();
    tracing::info!(address = %application.local_addr(), public_url = %url, "Outreach is listening");
    if let Some((path, credentials)) = demo {
        print_demo_banner(&url, &path, &credentials);
    }
    application.run_until_stopped().await
}

/// What a newcomer needs to try the demo. Printing must not fail the server
/// when stdout has gone away (piped into `head`, say).
fn print_demo_banner(url: &str, path: &std::path::Path, credentials: &demo::DemoCredentials) {
    use std::io::Write;

    let banner = format!(
        "\nOutreach demo is running at {url}\n\n\
         \x20 Sign in as the Org Admin:  {}  /  {}\n\
         \x20 Sign in as a campaigner:   {}  /  {}\n\n\
         \x20 (The passwords are kept in {}, readable only by you.)\n",
        demo::ADMIN_EMAIL,
        credentials.admin_password,
        demo::CAMPAIGNER_EMAIL,
        credentials.campaigner_password,
        path.display(),
    );
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(banner.as_bytes());
    let _ = stdout.flush();
}
