//! The `outreach` command line.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::sync::Arc;

use domain::{
    crypto::Keyring,
    organisations::{self, CreateOrganisationError, OrganisationName},
    sms_settings::integration::rewrap_tokens,
    users::{self, CreateUserError, EmailAddress, Role},
};
use secrecy::SecretString;

use crate::{
    config::{Config, ProcessRole, Settings},
    demo,
    startup::Application,
};

#[derive(Debug, Parser)]
#[command(
    name = "outreach",
    version,
    about = "Self-hosted SMS outreach: Org Admins configure Twilio, campaigners run SMS campaigns.",
    long_about = None,
)]
pub struct Cli {
    #[command(flatten)]
    settings: Settings,
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
    /// Manage the master keys that encrypt stored Auth Tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Run the local Twilio simulator, seeded with accounts to try.
    TwilioSim {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:3010")]
        listen: std::net::SocketAddr,
        /// Also write the seeded accounts, tokens and services to this JSON
        /// file (mode 0600), for scripts and end-to-end tests.
        #[arg(long)]
        write_accounts: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Add a new random key to the keyring file (OUTREACH_MASTER_KEY_FILE)
    /// and make it the active one. Older keys keep decrypting.
    Rotate,
    /// Re-encrypt every stored Auth Token under the active key, so older
    /// keys can be removed from the keyring.
    Rewrap,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Bring the database's schema up to date and exit. `outreach serve`
    /// does this at start-up too; run it first to migrate before a rollout.
    Migrate,
    /// Copy every table of one database into another, empty one (moving an
    /// installation from SQLite to PostgreSQL). Ids are kept and encrypted
    /// Auth Tokens copied as they are: keep the same master keys. Stop
    /// Outreach first.
    Copy {
        /// The database copied, e.g. sqlite://data/outreach.db
        #[arg(long)]
        from: String,
        /// The new, empty database, e.g. postgres://outreach@db/outreach
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Default, clap::Args)]
struct ServeArgs {
    /// Demo mode: create a demo organisation with an Org Admin and a
    /// campaigner, and print how to sign in. Listens on a loopback address only.
    #[arg(long, env = "OUTREACH_DEMO")]
    demo: bool,
    /// Serve people on another machine over plain http (passwords and
    /// session cookies then cross the network unencrypted). Without it,
    /// a non-loopback http OUTREACH_PUBLIC_URL is refused.
    #[arg(long, env = "OUTREACH_ALLOW_INSECURE_HTTP")]
    allow_insecure_http: bool,
    /// What this process does: everything, or (several processes on
    /// PostgreSQL) web (pages, server functions, webhooks) or worker
    /// (sending, reconciling, periodic checks; only /healthz is served).
    #[arg(long, value_enum, env = "OUTREACH_ROLE", default_value_t = ProcessRole::All)]
    role: ProcessRole,
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
        /// How phone numbers without a country code are read (ISO 3166 alpha-2).
        #[arg(long, default_value = "US")]
        default_country: String,
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
    /// Give a person a new password (from OUTREACH_PASSWORD, or asked for
    /// without echo). Their sessions end.
    SetPassword { email: String },
    /// Stop a person from signing in; their sessions end at once.
    Disable { email: String },
    /// Let a disabled person sign in again.
    Enable { email: String },
    /// Delete a person. Campaigns they created stay, naming them by email.
    Delete { email: String },
    /// End a person's sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
}

#[derive(Debug, Subcommand)]
enum SessionsCommand {
    /// End every session of this person: they must sign in again.
    End { email: String },
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
    forget_empty_settings();
    let cli = Cli::parse();
    crate::telemetry::init(cli.settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(
        cli.command.unwrap_or(Command::Serve(ServeArgs::default())),
        cli.settings,
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

/// An empty variable counts as unset (`OUTREACH_PUBLIC_URL=` in a service
/// file means "no public URL"), while clap would parse the empty value.
fn forget_empty_settings() {
    use clap::CommandFactory;
    let command = Cli::command();
    for name in command.get_arguments().filter_map(|arg| arg.get_env()) {
        if std::env::var_os(name).is_some_and(|value| value.is_empty()) {
            // SAFETY: called first thing in `main`, before any other thread
            // exists to read the environment.
            unsafe { std::env::remove_var(name) };
        }
    }
}

async fn execute(command: Command, settings: Settings) -> anyhow::Result<()> {
    let config = settings.config()?;
    // Commands that need no database.
    let command = match command {
        Command::TwilioSim {
            listen,
            write_accounts,
        } => return twilio_sim(listen, write_accounts).await,
        Command::Keys(KeysCommand::Rotate) => return rotate_keys(&settings),
        Command::Db(DbCommand::Migrate) => return migrate(&config.database_url).await,
        Command::Db(DbCommand::Copy { from, to }) => return copy(&from, &to).await,
        command => command,
    };
    let backend =
        domain::db::Backend::of_url(&config.database_url).map_err(|e| user_error(e.to_string()))?;
    if let Command::Serve(args) = &command {
        refuse_role_without_postgres(&config, args.role, args.demo)?;
    }
    // Before migrating: a second server of a SQLite file changes nothing.
    let _serving = match &command {
        Command::Serve(_) => domain::db::lock_for_serving(&config.database_url).map_err(|e| {
            match e.downcast_ref::<domain::db::SqliteInUse>() {
                Some(in_use) => user_error(format!(
                    "{in_use}. One SQLite file serves one process: stop the other one, or run several processes on PostgreSQL (README: \"Running several Outreach processes\")."
                )),
                None => user_error(format!("{e:#}")),
            }
        })?,
        _ => None,
    };
    let pool = domain::db::connect(&config.database_url).await?;
    tracing::debug!(?backend, "database open");
    match command {
        Command::Serve(args) => serve(config, &settings, pool, args).await,
        Command::Org(command) => org(&pool, command).await,
        Command::User(command) => user(&pool, command).await,
        Command::Keys(KeysCommand::Rewrap) => rewrap(&pool, &settings).await,
        Command::TwilioSim { .. } | Command::Keys(KeysCommand::Rotate) | Command::Db(_) => {
            unreachable!("handled above")
        }
    }
}

async fn org(pool: &domain::db::Pool, command: OrgCommand) -> anyhow::Result<()> {
    let now = domain::clock::now();
    match command {
        OrgCommand::Create {
            name,
            subscription,
            default_country,
        } => {
            let name = OrganisationName::parse(&name).map_err(|e| user_error(e.to_string()))?;
            let country = organisations::CountryCode::parse(&default_country)
                .map_err(|e| user_error(e.to_string()))?;
            let active = subscription == SubscriptionArg::Active;
            let organisation = organisations::insert_organisation(pool, &name, active, now)
                .await
                .map_err(|e| match e {
                    CreateOrganisationError::DuplicateName(_) => user_error(e.to_string()),
                    CreateOrganisationError::Internal(e) => e,
                })?;
            organisations::set_default_country(pool, organisation.id, &country).await?;
            println!("Created organisation \"{}\".", organisation.name);
            if !active {
                println!(
                    "Its Outreach subscription is inactive; grant it with: outreach org subscription \"{}\" active",
                    organisation.name
                );
            }
            Ok(())
        }
        OrgCommand::Subscription { name, state } => {
            let name = OrganisationName::parse(&name).map_err(|e| user_error(e.to_string()))?;
            let active = state == SubscriptionArg::Active;
            if !organisations::set_subscription(pool, &name, active).await? {
                return Err(user_error(format!("no organisation is named \"{name}\"")));
            }
            println!(
                "The Outreach subscription of \"{name}\" is now {}.",
                if active { "active" } else { "inactive" }
            );
            Ok(())
        }
    }
}

async fn rewrap(pool: &domain::db::Pool, settings: &Settings) -> anyhow::Result<()> {
    let keyring = settings.keyring().map_err(|e| user_error(e.to_string()))?;
    let report = rewrap_tokens(pool, &keyring).await?;
    println!(
        "Rewrapped {} stored Auth Token(s) under key {}; {} already used it.",
        report.rewrapped,
        keyring.active_key_id(),
        report.already_current
    );
    if !report.undecryptable.is_empty() {
        return Err(user_error(format!(
            "{} stored Auth Token(s) could not be decrypted with any key (organisation ids {:?}); their Org Admins must re-enter them",
            report.undecryptable.len(),
            report.undecryptable
        )));
    }
    Ok(())
}

async fn user(pool: &domain::db::Pool, command: UserCommand) -> anyhow::Result<()> {
    let now = domain::clock::now();
    match command {
        UserCommand::SetPassword { email } => {
            let email = parse_email(&email)?;
            let password = read_password(&email)?;
            let found = users::set_password(pool, &email, password, now)
                .await
                .map_err(|e| match e {
                    CreateUserError::Weak(_) | CreateUserError::DuplicateEmail(_) => {
                        user_error(e.to_string())
                    }
                    CreateUserError::Internal(e) => e,
                })?;
            if !found {
                return Err(no_such_person(&email));
            }
            println!("Set a new password for {email}; their sessions have ended.");
            Ok(())
        }
        UserCommand::Disable { email } => {
            let email = parse_email(&email)?;
            if !users::set_disabled(pool, &email, true, now).await? {
                return Err(no_such_person(&email));
            }
            println!("Disabled {email}: they cannot sign in, and their sessions have ended.");
            Ok(())
        }
        UserCommand::Enable { email } => {
            let email = parse_email(&email)?;
            if !users::set_disabled(pool, &email, false, now).await? {
                return Err(no_such_person(&email));
            }
            println!("Enabled {email}: they can sign in again.");
            Ok(())
        }
        UserCommand::Delete { email } => {
            let email = parse_email(&email)?;
            if !users::delete_user(pool, &email, now).await? {
                return Err(no_such_person(&email));
            }
            println!("Deleted {email}; campaigns they created stay.");
            Ok(())
        }
        UserCommand::Sessions(SessionsCommand::End { email }) => {
            let email = parse_email(&email)?;
            let ended = users::end_sessions(pool, &email)
                .await?
                .ok_or_else(|| no_such_person(&email))?;
            println!("Ended {ended} session(s) of {email}.");
            Ok(())
        }
        UserCommand::Create { org, email, role } => {
            let org_name = OrganisationName::parse(&org).map_err(|e| user_error(e.to_string()))?;
            let organisation = organisations::fetch_organisation_by_name(pool, &org_name)
                .await?
                .ok_or_else(|| user_error(format!("no organisation is named \"{org_name}\"")))?;
            let email = EmailAddress::parse(&email).map_err(|e| user_error(e.to_string()))?;
            let role = match role {
                RoleArg::OrgAdmin => Role::OrgAdmin,
                RoleArg::Campaigner => Role::Campaigner,
            };
            let password = read_password(&email)?;
            users::insert_user(pool, organisation.id, &email, role, password, now)
                .await
                .map_err(|e| match e {
                    CreateUserError::DuplicateEmail(_) | CreateUserError::Weak(_) => {
                        user_error(e.to_string())
                    }
                    CreateUserError::Internal(e) => e,
                })?;
            users::audit_created_by_operator(pool, organisation.id, &email, role, now).await?;
            println!(
                "Created {} {email} in \"{}\".",
                role_label(role),
                organisation.name
            );
            Ok(())
        }
    }
}

fn parse_email(raw: &str) -> anyhow::Result<EmailAddress> {
    EmailAddress::parse(raw).map_err(|e| user_error(e.to_string()))
}

fn no_such_person(email: &EmailAddress) -> anyhow::Error {
    user_error(format!("nobody signs in as {email}"))
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
    mut config: Config,
    settings: &Settings,
    pool: domain::db::Pool,
    args: ServeArgs,
) -> anyhow::Result<()> {
    config.role = args.role;
    if !args.demo {
        // Refuse to start without a usable key: nothing could be saved.
        let keyring = settings.keyring().map_err(|e| user_error(e.to_string()))?;
        refuse_plain_http(&config, args.allow_insecure_http)?;
        let application = Application::build(config, pool, Arc::new(keyring)).await?;
        tracing::info!(
            address = %application.local_addr(),
            public_url = %application.public_url().origin(),
            "Outreach is listening"
        );
        return application.run_until_stopped().await;
    }

    if !config.site_addr.ip().is_loopback() {
        return Err(user_error(format!(
            "demo mode listens only on a loopback address, so nobody else can sign in with its printed passwords; LEPTOS_SITE_ADDR is {}",
            config.site_addr
        )));
    }
    let data_dir = domain::db::database_directory(&config.database_url)
        .ok_or_else(|| {
            user_error(
                "demo mode runs on SQLite: leave OUTREACH_DATABASE_URL unset, or set it to a sqlite:// URL",
            )
        })?;
    let (credentials_path, credentials) = demo::seed(&pool, &data_dir).await?;
    let (keyring, key_note) = match settings.keyring() {
        Ok(keyring) => (keyring, None),
        Err(domain::crypto::KeyringError::Missing) => {
            let (keyring, path, created) = demo::master_key(&data_dir)?;
            let note = format!(
                "{} master key in {} (mode 0600); set OUTREACH_MASTER_KEY or OUTREACH_MASTER_KEY_FILE outside demo mode.",
                if created { "Created a" } else { "Using the" },
                path.display()
            );
            (keyring, Some(note))
        }
        Err(e) => return Err(user_error(e.to_string())),
    };
    // The simulator stands in for Twilio unless a Twilio URL was configured.
    let simulator =
        if config.twilio.api_base_url.is_none() && config.twilio.messaging_base_url.is_none() {
            let running = demo::start_twilio_simulator(&credentials).await?;
            config.twilio.api_base_url = Some(running.url.clone());
            config.twilio.messaging_base_url = Some(running.url.clone());
            Some(running)
        } else {
            None
        };
    let application = Application::build(config, pool, Arc::new(keyring)).await?;
    let url = application.public_url().origin().to_owned();
    tracing::info!(address = %application.local_addr(), public_url = %url, "Outreach is listening in demo mode");
    print_demo_banner(
        &url,
        &credentials_path,
        &credentials,
        key_note.as_deref(),
        simulator.is_some(),
    );
    let served = application.run_until_stopped().await;
    drop(simulator);
    served
}

/// Web and worker processes only make sense beside each other, on one
/// PostgreSQL database; a worker must know the public URL it gives Twilio
/// for status callbacks (its own address serves none).
fn refuse_role_without_postgres(
    config: &Config,
    role: ProcessRole,
    demo: bool,
) -> anyhow::Result<()> {
    if role == ProcessRole::All {
        return Ok(());
    }
    let backend = domain::db::Backend::of_url(&config.database_url)?;
    if demo || backend != domain::db::Backend::Postgres {
        return Err(user_error(
            "--role web and --role worker split the work between several processes on one PostgreSQL database; on SQLite (or in demo mode) one process does everything: leave --role at all",
        ));
    }
    if role == ProcessRole::Worker && config.public_url.is_none() {
        return Err(user_error(
            "a worker gives Twilio the web processes' address for status callbacks: set OUTREACH_PUBLIC_URL to it",
        ));
    }
    Ok(())
}

/// People elsewhere would send passwords and session cookies in the clear.
fn refuse_plain_http(config: &Config, allowed: bool) -> anyhow::Result<()> {
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| crate::config::PublicUrl::from_listen_address(config.site_addr));
    if public_url.is_https() || public_url.is_loopback() || allowed {
        return Ok(());
    }
    Err(user_error(format!(
        "{} is plain http on a network address: passwords and session cookies would cross the network unencrypted. \
         Serve Outreach behind HTTPS and set OUTREACH_PUBLIC_URL=https://..., or pass --allow-insecure-http if this network is private",
        public_url.origin()
    )))
}

async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let backend =
        domain::db::Backend::of_url(database_url).map_err(|e| user_error(e.to_string()))?;
    let pool = domain::db::open(database_url).await?;
    let applied = domain::db::migrate(&pool).await?;
    println!(
        "Applied {applied} migration(s); the {} schema is at version {}.",
        match backend {
            domain::db::Backend::Sqlite => "SQLite",
            domain::db::Backend::Postgres => "PostgreSQL",
        },
        domain::db::schema_version(backend)
    );
    Ok(())
}

async fn copy(from: &str, to: &str) -> anyhow::Result<()> {
    for url in [from, to] {
        domain::db::Backend::of_url(url).map_err(|e| {
            user_error(
                e.to_string()
                    .replace("OUTREACH_DATABASE_URL", "--from and --to"),
            )
        })?;
    }
    if from == to {
        return Err(user_error("--from and --to name the same database"));
    }
    // Nothing may change the source while it is copied.
    let _source = domain::db::lock_for_serving(from).map_err(|e| match e
        .downcast_ref::<domain::db::SqliteInUse>()
    {
        Some(in_use) => user_error(format!("{in_use}; stop it before copying")),
        None => e,
    })?;
    let started = std::time::Instant::now();
    let source = domain::db::connect(from).await?;
    let target = domain::db::connect(to).await?;
    let copied = domain::db::copy_database(&source, &target)
        .await
        .map_err(|e| user_error(format!("{e:#}")))?;
    for table in &copied {
        println!("{:>12}  {}", table.rows, table.table);
    }
    println!(
        "Copied {} row(s) of {} tables in {:.1} s; every table's row count matches. Point OUTREACH_DATABASE_URL at the new database and keep the same master key(s).",
        copied.iter().map(|t| t.rows).sum::<i64>(),
        copied.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn rotate_keys(settings: &Settings) -> anyhow::Result<()> {
    let Some(path) = &settings.master_key_file else {
        return Err(user_error(
            "rotation needs a keyring file: set OUTREACH_MASTER_KEY_FILE (a single OUTREACH_MASTER_KEY cannot hold two keys)",
        ));
    };
    let keyring = Keyring::rotate_file(path).map_err(|e| user_error(format!("{e:#}")))?;
    println!(
        "Key {} is now active in {}. Run `outreach keys rewrap` to re-encrypt the stored Auth Tokens under it; after that, older keys can be removed from the file.",
        keyring.active_key_id(),
        path.display()
    );
    Ok(())
}

async fn twilio_sim(
    listen: std::net::SocketAddr,
    write_accounts: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    use twilio_simulator::Simulator;

    let simulator = Simulator::new();
    let main = simulator.add_account("Full");
    let service = simulator.add_service(&main.sid, &["+15005550006"]);
    let second_service = simulator.add_service(&main.sid, &["+15005550007"]);
    let trial = simulator.add_account("Trial");
    let other = simulator.add_account("Full");
    let others_service = simulator.add_service(&other.sid, &["+15005550008"]);
    // A service the main account can see but may not use (Twilio answers 403).
    let forbidden_service = simulator.add_service(&other.sid, &[]);
    simulator.forbid_service(&forbidden_service.sid, &main.sid);
    let running = simulator
        .start(listen)
        .await
        .with_context(|| format!("could not listen on {listen}"))?;

    let seeded = serde_json::json!({
        "url": running.url,
        "account_sid": main.sid,
        "auth_token": main.auth_token,
        "messaging_service_sid": service.sid,
        "second_messaging_service_sid": second_service.sid,
        "trial_account_sid": trial.sid,
        "trial_auth_token": trial.auth_token,
        "other_account_sid": other.sid,
        "other_auth_token": other.auth_token,
        "other_accounts_messaging_service_sid": others_service.sid,
        "forbidden_messaging_service_sid": forbidden_service.sid,
    });
    if let Some(path) = write_accounts {
        demo::write_private_file(&path, serde_json::to_string_pretty(&seeded)?.as_bytes())?;
    }
    println!("Twilio simulator listening on {}", running.url);
    println!(
        "Point Outreach at it with TWILIO_API_BASE_URL={0} TWILIO_MESSAGING_BASE_URL={0}",
        running.url
    );
    println!();
    println!("  Account SID:            {}", main.sid);
    println!("  Auth Token:             {}", main.auth_token);
    println!("  Messaging Service SID:  {}", service.sid);
    println!(
        "  Trial account:          {} / {}",
        trial.sid, trial.auth_token
    );
    println!();
    tokio::signal::ctrl_c()
        .await
        .context("could not wait for Ctrl-C")?;
    Ok(())
}

/// What a newcomer needs to try the demo. Printing must not fail the server
/// when stdout has gone away (piped into `head`, say).
fn print_demo_banner(
    url: &str,
    path: &std::path::Path,
    credentials: &demo::DemoCredentials,
    key_note: Option<&str>,
    simulated_twilio: bool,
) {
    use std::io::Write;

    let mut banner = format!(
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
    if simulated_twilio {
        banner.push_str(&format!(
            "\n  Twilio is simulated locally. In Outreach > Settings > SMS, try:\n\
             \x20   Account SID:            {}\n\
             \x20   Auth Token:             {}\n\
             \x20   Messaging Service SID:  {}\n\
             \x20   A wrong Auth Token, to see a failure: {}\n\n\
             \x20 Then, as the campaigner, create and run a campaign: the simulator accepts the\n\
             \x20 messages and posts signed delivery updates back, so you can watch it complete.\n\
             \x20 Twilio's test numbers fail as on Twilio: +15005550001 (invalid number),\n\
             \x20 +15005550004 (unsubscribed), +15005550009 (cannot receive SMS).\n",
            credentials.twilio_account_sid,
            credentials.twilio_auth_token,
            credentials.twilio_messaging_service_sid,
            "0".repeat(32),
        ));
    }
    if let Some(note) = key_note {
        banner.push_str(&format!("\n  {note}\n"));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(banner.as_bytes());
    let _ = stdout.flush();
}
