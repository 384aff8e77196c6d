//! The sending engine inside `outreach serve`.
//!
//! One loop claims queued messages of running campaigns (durably, before
//! sending), paced per organisation by a token bucket, and hands each to a
//! task bounded by a semaphore. Each task records Twilio's answer:
//! accepted -> `sent`; 429 -> back in the queue and the organisation backs
//! off with jitter; a permanent refusal -> `failed` (or `opted_out`) with
//! its reason; 20003 -> credentials invalid and the organisation's
//! campaigns paused; no answer -> left `sending` until its lease runs out,
//! then reconciled (its status callback, or a look-up at Twilio).
//! Recipients who opted out since the audience was checked are withheld at
//! the claim. Each pass also completes finished campaigns and looks up
//! `sent` messages whose callbacks stopped coming.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rand::Rng;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use super::allowance;
use crate::db::Pool;
use crate::delivery::writer::{self, DeliveryWriter};
use crate::{
    campaigns::store as campaigns,
    capability::{RunPermission, sms_capability},
    clock,
    crypto::Keyring,
    failure_guard::{self, GuardVerdict},
    leases::{self, Holder},
    organisations::{OrganisationId, fetch_organisation},
    outbound::{self, AcceptedAnswer, ClaimedMessage},
    services::Services,
    sms_settings::integration::{
        self, configuration, fetch_effective_integration, saved_auth_token,
    },
    twilio::{
        AcceptedMessage, MessageSearch, OutgoingMessage, SendError, TwilioClient, TwilioError,
        credentials::{AccountSid, AuthToken, MessagingServiceSid},
    },
};

#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Sends in flight at once, across organisations.
    pub concurrency: usize,
    /// Each organisation's sends per second.
    pub messages_per_second: f64,
    /// How long a claimed message may wait for Twilio's answer before its
    /// outcome is reconciled: longer than one request can take.
    pub lease: Duration,
    /// Look-ups tried before a person is asked to decide.
    pub reconcile_attempts: i64,
    /// How long a `sent` message may go without news before Twilio is
    /// asked for its status (callbacks can be lost, e.g. after a rotation).
    pub status_check_after: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            concurrency: 16,
            messages_per_second: 10.0,
            lease: Duration::from_secs(15),
            reconcile_attempts: 5,
            status_check_after: Duration::from_secs(600),
        }
    }
}

/// How long tokens taken from the shared allowance may wait in a process
/// before they go back: short, so processes never hold much of the rate.
const STOCK_LIFETIME: Duration = Duration::from_millis(100);

/// One organisation's sending pace in this process: whether it is backing
/// off after Twilio said "too many requests" (the process that was told
/// slows down), and tokens taken from the shared allowance but not yet
/// used. Tokens are taken a tenth of a second's worth at a time, so the
/// database is asked about ten times a second, not at every pass.
#[derive(Default)]
struct Pace {
    backoff_until: Option<Instant>,
    consecutive_limits: u32,
    stock: usize,
    stocked_at: Option<Instant>,
}

impl Pace {
    fn backing_off(&self, now: Instant) -> bool {
        self.backoff_until.is_some_and(|until| now < until)
    }

    /// Up to `wanted` tokens from the stock, if it is fresh.
    fn take_stock(&mut self, wanted: usize, now: Instant) -> usize {
        let fresh = self
            .stocked_at
            .is_some_and(|at| now.duration_since(at) < STOCK_LIFETIME);
        if !fresh {
            return 0;
        }
        let taken = self.stock.min(wanted);
        self.stock -= taken;
        taken
    }

    /// A stock too old to use, to go back to the shared allowance.
    fn expired_stock(&mut self, now: Instant) -> usize {
        let expired = self
            .stocked_at
            .is_none_or(|at| now.duration_since(at) >= STOCK_LIFETIME);
        if expired {
            std::mem::take(&mut self.stock)
        } else {
            0
        }
    }

    /// Tokens just taken from the shared allowance.
    fn restock(&mut self, tokens: usize, now: Instant) {
        self.stock += tokens;
        self.stocked_at = Some(now);
    }

    /// Tokens taken but not used after all: back into the stock, as old as
    /// it is (they must not outlive the slice they came with).
    fn put_back(&mut self, tokens: usize) {
        self.stock += tokens;
    }

    /// Exponential backoff with jitter: 0.5 s, 1 s, 2 s, ... up to 30 s,
    /// each between half and the whole of that.
    fn back_off(&mut self, now: Instant) {
        self.consecutive_limits = self.consecutive_limits.saturating_add(1);
        let ceiling = (0.5 * 2f64.powi(self.consecutive_limits.min(7) as i32 - 1)).min(30.0);
        let delay = rand::thread_rng().gen_range(ceiling / 2.0..=ceiling);
        self.backoff_until = Some(now + Duration::from_secs_f64(delay));
    }

    fn succeeded(&mut self) {
        self.consecutive_limits = 0;
    }
}

/// What one organisation sends with, read from its saved integration.
struct Sender {
    organisation: OrganisationId,
    integration_version: i64,
    account_sid: AccountSid,
    auth_token: AuthToken,
    messaging_service_sid: MessagingServiceSid,
    /// `.../webhooks/twilio/status/{public id}`
    status_callback: String,
}

/// Senders (or why an organisation cannot send) resolved during one pass.
type Senders = HashMap<OrganisationId, Result<Arc<Sender>, String>>;

/// Senders kept from pass to pass, each with the stamp of what it was made from.
type KeptSenders = HashMap<OrganisationId, (campaigns::IntegrationStamp, Arc<Sender>)>;

#[derive(Clone)]
pub struct SendingEngine {
    pool: Pool,
    keyring: Arc<Keyring>,
    twilio: TwilioClient,
    /// `OUTREACH_PUBLIC_URL`'s origin: where Twilio posts status callbacks.
    public_origin: String,
    settings: EngineSettings,
    slots: Arc<Semaphore>,
    paces: Arc<Mutex<HashMap<OrganisationId, Pace>>>,
    /// This engine, as the holder of the housekeeping lease.
    holder: Holder,
    /// Until when this engine holds the housekeeping lease, as far as it
    /// knows (0: it does not).
    housekeeping_until: Arc<Mutex<clock::UnixTime>>,
    /// Twilio's acceptances, noted in groups: at hundreds of sends a
    /// second, one commit for all the answers (and status callbacks) that
    /// came in meanwhile.
    deliveries: DeliveryWriter,
    /// Reconciling, asking about quiet messages, completing and pausing
    /// campaigns: ten times a second is soon enough, and passes come
    /// hundreds of times a second while sending.
    housekeeping_checks: Arc<Every>,
    /// The failure guard and scheduled starts.
    second_checks: Arc<Every>,
    /// Each sending organisation's sender, with the stamp of the saved
    /// integration it was made from: kept from pass to pass while the
    /// stamp (read once a pass for every sending organisation) is
    /// unchanged, so saving new credentials, a recheck or a rejection is
    /// seen at the next pass.
    kept_senders: Arc<Mutex<KeptSenders>>,
}

/// Checks run at most once per period, however often passes come.
struct Every {
    period: Duration,
    last: Mutex<Option<Instant>>,
}

impl Every {
    fn new(period: Duration) -> Arc<Self> {
        Arc::new(Self {
            period,
            last: Mutex::default(),
        })
    }

    /// Whether they are due now; if so, the period starts again.
    fn due(&self) -> bool {
        let mut last = self.last.lock().expect("never poisoned");
        let due = last.is_none_or(|at| at.elapsed() >= self.period);
        if due {
            *last = Some(Instant::now());
        }
        due
    }
}

/// The lease under which one engine at a time reconciles unknown outcomes,
/// asks about quiet messages and completes or pauses campaigns.
const HOUSEKEEPING: &str = "sending-housekeeping";

impl SendingEngine {
    /// Notes Twilio's answers through `deliveries`, the process's writer.
    pub fn new(
        services: Services,
        deliveries: DeliveryWriter,
        public_origin: &str,
        settings: EngineSettings,
    ) -> Self {
        Self {
            deliveries,
            pool: services.pool,
            keyring: services.keyring,
            twilio: services.twilio,
            public_origin: public_origin.trim_end_matches('/').to_owned(),
            slots: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            settings,
            paces: Arc::default(),
            holder: Holder::for_this_process(),
            housekeeping_until: Arc::default(),
            housekeeping_checks: Every::new(Duration::from_millis(100)),
            second_checks: Every::new(Duration::from_secs(1)),
            kept_senders: Arc::default(),
        }
    }

    /// Runs until the task is dropped. Errors (the database busy, ...) are
    /// logged and the loop carries on: nothing is lost, the queue is durable.
    pub async fn run(self) {
        tokio::join!(self.pass_after_pass(), self.keep_books());
    }

    /// The sending passes.
    async fn pass_after_pass(&self) {
        loop {
            let started = Instant::now();
            let stepped = self.step().await;
            crate::metrics::sending_pass(started);
            let idle = match stepped {
                Ok(idle) => idle,
                Err(e) => {
                    tracing::error!(error = ?e, "the sending engine hit an error; retrying");
                    true
                }
            };
            if idle {
                // A campaign that starts waits at most this long for its first send.
                tokio::time::sleep(Duration::from_millis(250)).await;
            } else {
                self.wait_for_free_slots().await;
            }
        }
    }

    /// Between busy passes: until a quarter of the send slots are free, or
    /// 5 ms. A pass claims for every free slot at once, so its look-ups
    /// (running campaigns, the claim, opt-outs) serve several messages
    /// rather than the one or two that finished since the last pass.
    async fn wait_for_free_slots(&self) {
        let quarter = (self.settings.concurrency / 4).clamp(1, 50) as u32;
        // The permits go straight back: only passes take slots, so they
        // are still free when the next pass counts them.
        let _ =
            tokio::time::timeout(Duration::from_millis(5), self.slots.acquire_many(quarter)).await;
    }

    /// Beside the sending passes, while this engine does the housekeeping,
    /// the work that comes in large amounts, a chunk per transaction:
    /// queuing started campaigns' remaining recipients, withdrawing what a
    /// cancel left queued, expiring what waited past its campaign's
    /// validity, and folding the messages' state changes into their
    /// campaigns' counts. Queuing a million recipients takes about a minute
    /// and a half (scripts/bench-growth.sh); sending goes on meanwhile.
    async fn keep_books(&self) {
        loop {
            let changed = match self.books_step().await {
                Ok(changed) => changed,
                Err(e) => {
                    tracing::error!(error = ?e, "queuing or counting messages failed; retrying");
                    0
                }
            };
            // Between chunks, writers waiting for SQLite's write lock take
            // it: in their first 100 ms of waiting they try again at most
            // 25 ms apart.
            let pause = if changed > 0 { 30 } else { 250 };
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    /// Returns how many messages were queued, withdrawn or expired.
    async fn books_step(&self) -> anyhow::Result<u64> {
        let now = clock::now();
        if !self.holds_housekeeping(now).await? {
            return Ok(0);
        }
        let queued = campaigns::queue_next_chunks(&self.pool, now).await? as u64;
        let withdrawn = outbound::withdraw_cancelled(&self.pool, now).await?;
        let expired = outbound::expire_overdue(&self.pool, now).await?;
        if expired > 0 {
            tracing::info!(expired, "messages expired unsent");
        }
        if crate::db::Backend::of(&self.pool).notes_count_changes() {
            outbound::fold_count_changes(&self.pool).await?;
        }
        Ok(queued + withdrawn + expired)
    }

    fn lease_secs(&self) -> i64 {
        self.settings.lease.as_secs().max(1) as i64
    }

    /// One pass: reconcile, complete, claim and dispatch. Returns whether
    /// there was nothing to do right now.
    // Spans that only carry context are at ERROR level, so they are enabled
    // whenever any event inside them is.
    #[tracing::instrument(name = "sending_pass", level = "error", skip_all)]
    async fn step(&self) -> anyhow::Result<bool> {
        let now = clock::now();
        // Each organisation's credentials are read and decrypted once a pass.
        let mut senders = Senders::new();
        // Several processes may send; one of them at a time does this. A
        // lease outlives a few passes, so a process that dies mid-way
        // hands it over within seconds.
        let reconciled = if self.housekeeping_checks.due() && self.holds_housekeeping(now).await? {
            let reconciled = self.reconcile(&mut senders, now).await?
                + self.check_quiet_messages(&mut senders, now).await?;
            campaigns::complete_finished_campaigns(&self.pool, now).await?;
            if self.second_checks.due() {
                self.check_failure_guard().await?;
                // Schedules are to the minute: once a second is on time.
                start_due_campaigns(&self.pool, &self.keyring, now).await?;
            }
            for (organisation, campaign) in
                campaigns::pause_campaigns_without_subscription(&self.pool).await?
            {
                tracing::warn!(
                    organisation_id = %organisation,
                    campaign_id = %campaign,
                    "campaign paused: the organisation's subscription is not active"
                );
            }
            reconciled
        } else {
            0
        };
        let mut by_organisation: BTreeMap<OrganisationId, Vec<campaigns::RunningCampaign>> =
            BTreeMap::new();
        for campaign in campaigns::running_campaigns(&self.pool).await? {
            by_organisation
                .entry(campaign.organisation)
                .or_default()
                .push(campaign);
        }
        let mut dispatched = 0;
        // Every slot in flight is not idle: the next pass is due as soon
        // as some come back, not a quarter of a second later.
        let mut every_slot_busy = false;
        for (organisation, campaigns) in by_organisation {
            let free = self.slots.available_permits().min(200);
            if free == 0 {
                every_slot_busy = true;
                break;
            }
            let wanted = self.take_allowance(organisation, free).await?;
            if wanted == 0 {
                continue;
            }
            // Each of the organisation's campaigns came with the same stamp.
            let stamp = campaigns[0].integration.as_ref();
            let sender = match self.kept_sender(&mut senders, organisation, stamp).await {
                Ok(sender) => sender,
                Err(reason) => {
                    self.with_pace(organisation, |pace| pace.put_back(wanted));
                    let mut conn = crate::db::write_connection(&self.pool).await?;
                    campaigns::pause_running_campaigns(&mut conn, organisation, &reason).await?;
                    tracing::warn!(organisation_id = %organisation, reason, "campaigns paused");
                    continue;
                }
            };
            let mut claimed = outbound::Claimed::default();
            for campaign in &campaigns {
                if claimed.taken() == wanted {
                    break;
                }
                claim_for_campaign(
                    &self.deliveries,
                    campaign,
                    &mut claimed,
                    wanted,
                    now,
                    self.lease_secs(),
                )
                .await?;
            }
            // Withheld messages (opted out) were not sent: their allowance
            // goes back too.
            let unused = wanted - claimed.to_send.len();
            self.with_pace(organisation, |pace| pace.put_back(unused));
            dispatched += claimed.taken();
            for message in claimed.to_send {
                let permit = self.slots.clone().acquire_owned().await?;
                let engine = self.clone();
                let sender = sender.clone();
                // Its own span: the pass that claimed it has moved on.
                let span = tracing::error_span!(
                    parent: None,
                    "send",
                    organisation_id = %organisation,
                    campaign_id = %message.campaign_id,
                    message_id = %message.id,
                );
                tokio::spawn(
                    async move { engine.send(&sender, message, permit).await }.instrument(span),
                );
            }
        }
        Ok(dispatched == 0 && reconciled == 0 && !every_slot_busy)
    }

    /// Pauses the running campaigns with too many carrier failures among
    /// their first messages (see `failure_guard`), and stops watching
    /// those whose first messages settled without.
    async fn check_failure_guard(&self) -> anyhow::Result<()> {
        for (organisation, campaign, guard) in
            campaigns::watched_by_failure_guard(&self.pool).await?
        {
            let counts =
                outbound::failure_guard_counts(&self.pool, campaign, guard.first_messages).await?;
            match failure_guard::verdict(guard, &counts) {
                GuardVerdict::Watching => {}
                GuardVerdict::Passed => {
                    campaigns::failure_guard_passed(&self.pool, campaign).await?
                }
                GuardVerdict::Trip(reason) => {
                    if campaigns::trip_failure_guard(&self.pool, campaign, &reason).await? {
                        tracing::warn!(
                            organisation_id = %organisation,
                            campaign_id = %campaign,
                            reason,
                            "campaign paused by the failure guard"
                        );
                    }
                }
            }
        }
        Ok(())
    }

    fn with_pace<T>(&self, organisation: OrganisationId, f: impl FnOnce(&mut Pace) -> T) -> T {
        let mut paces = self.paces.lock().expect("never poisoned");
        f(paces.entry(organisation).or_default())
    }

    /// Up to `wanted` sends for the organisation now: from this process's
    /// fresh stock, or else a tenth of a second's worth (at least
    /// `wanted`) from the allowance every process shares.
    async fn take_allowance(
        &self,
        organisation: OrganisationId,
        wanted: usize,
    ) -> anyhow::Result<usize> {
        let now = Instant::now();
        let (stocked, expired) = self.with_pace(organisation, |pace| {
            if pace.backing_off(now) {
                return (0, 0);
            }
            let stocked = pace.take_stock(wanted, now);
            (stocked, pace.expired_stock(now))
        });
        allowance::give_back(&self.pool, organisation, expired).await?;
        if stocked > 0 || self.with_pace(organisation, |pace| pace.backing_off(now)) {
            return Ok(stocked);
        }
        let rate = self.settings.messages_per_second;
        let slice = wanted.max((rate / 10.0).ceil() as usize);
        let taken = allowance::take(&self.pool, organisation, slice, rate, clock::now_ms()).await?;
        let used = taken.min(wanted);
        self.with_pace(organisation, |pace| pace.restock(taken - used, now));
        Ok(used)
    }

    /// Whether this engine does the housekeeping now: it holds the lease,
    /// renewed when half of it has run out.
    async fn holds_housekeeping(&self, now: clock::UnixTime) -> anyhow::Result<bool> {
        let ttl = self.lease_secs();
        let until = *self.housekeeping_until.lock().expect("never poisoned");
        if now < until - ttl / 2 {
            return Ok(true);
        }
        let held = leases::hold(&self.pool, HOUSEKEEPING, &self.holder, now, ttl).await?;
        *self.housekeeping_until.lock().expect("never poisoned") = if held { now + ttl } else { 0 };
        Ok(held)
    }

    /// The organisation's sender for this pass, loaded on first use.
    async fn sender(
        &self,
        senders: &mut Senders,
        organisation: OrganisationId,
    ) -> Result<Arc<Sender>, String> {
        if let Some(known) = senders.get(&organisation) {
            return known.clone();
        }
        let loaded = self.load_sender(organisation).await.map(Arc::new);
        senders.insert(organisation, loaded.clone());
        loaded
    }

    /// The organisation's sender for its running campaigns: the one kept
    /// if the saved integration is still the one it was made from.
    async fn kept_sender(
        &self,
        senders: &mut Senders,
        organisation: OrganisationId,
        stamp: Option<&campaigns::IntegrationStamp>,
    ) -> Result<Arc<Sender>, String> {
        let kept = |kept: &mut KeptSenders| match (kept.get(&organisation), stamp) {
            (Some((kept_for, sender)), Some(stamp)) if kept_for == stamp => {
                Some(Arc::clone(sender))
            }
            _ => {
                kept.remove(&organisation);
                None
            }
        };
        if let Some(sender) = kept(&mut self.kept_senders.lock().expect("never poisoned")) {
            return Ok(sender);
        }
        // Loaded now, after the stamp was read (not taken from earlier in
        // this pass): saved since the stamp was read, perhaps, and then the
        // next pass sees another stamp and loads again; never the reverse.
        let loaded = self.load_sender(organisation).await.map(Arc::new);
        senders.insert(organisation, loaded.clone());
        let loaded = loaded?;
        if let Some(stamp) = stamp {
            self.kept_senders
                .lock()
                .expect("never poisoned")
                .insert(organisation, (stamp.clone(), Arc::clone(&loaded)));
        }
        Ok(loaded)
    }

    /// The organisation's saved credentials, if the capability rule lets it
    /// run campaigns now; otherwise why not.
    async fn load_sender(&self, organisation: OrganisationId) -> Result<Sender, String> {
        let internal = |e: anyhow::Error| {
            tracing::error!(error = ?e, organisation_id = %organisation, "could not load the integration");
            "Outreach could not read the SMS settings.".to_owned()
        };
        let integration = fetch_effective_integration(&self.pool, &self.keyring, organisation)
            .await
            .map_err(internal)?;
        let run = sms_capability(configuration(integration.as_ref())).run;
        let (Some(integration), RunPermission::Allowed) = (integration, run) else {
            return Err(format!(
                "Paused: {}",
                run.reason().unwrap_or("SMS is not available.")
            ));
        };
        let auth_token = saved_auth_token(&self.keyring, &integration)
            .map_err(|reason| format!("Paused: {reason}"))?;
        let public_id = fetch_organisation(&self.pool, organisation)
            .await
            .map_err(internal)?
            .public_id;
        Ok(Sender {
            organisation,
            integration_version: integration.version,
            messaging_service_sid: integration.messaging_service_sid.clone().ok_or_else(|| {
                format!(
                    "Paused: {}",
                    RunPermission::NeedsMessagingService
                        .reason()
                        .unwrap_or_default()
                )
            })?,
            account_sid: integration.account_sid,
            auth_token,
            status_callback: format!("{}/webhooks/twilio/status/{public_id}", self.public_origin),
        })
    }

    /// Sends the message in `slot`, given back once Twilio's answer is
    /// dealt with (see `record`).
    async fn send(&self, sender: &Sender, message: ClaimedMessage, slot: OwnedSemaphorePermit) {
        let status_callback = format!("{}?m={}", sender.status_callback, message.id);
        let answer = self
            .twilio
            .send_message(
                &sender.account_sid,
                &sender.auth_token,
                &OutgoingMessage {
                    to: &message.phone,
                    body: &message.body,
                    messaging_service_sid: sender.messaging_service_sid.as_str(),
                    status_callback: &status_callback,
                    validity_period: Some(validity_period(message.expires_at, clock::now())),
                },
            )
            .await;
        if let Err(e) = self.record(sender, &message, answer, slot).await {
            // The lease is still set: the message is reconciled later.
            tracing::error!(error = ?e, message_id = %message.id, "could not record a send");
        }
    }

    /// Writes what `verdict` decided about Twilio's answer. The send's
    /// `slot` is held until it is written, except after an acceptance
    /// (see there).
    async fn record(
        &self,
        sender: &Sender,
        message: &ClaimedMessage,
        answer: Result<AcceptedMessage, SendError>,
        slot: OwnedSemaphorePermit,
    ) -> anyhow::Result<()> {
        let now = clock::now();
        let organisation = sender.organisation;
        match verdict(answer) {
            Verdict::Accepted { sid, status } => {
                crate::metrics::message_sent();
                self.with_pace(organisation, Pace::succeeded);
                // The slots bound the requests in flight at Twilio. Its
                // answer's write waits for a group commit, milliseconds,
                // as long as the send itself: holding the slot meanwhile
                // halved the sends a second. Writes still waiting stay
                // bounded: the next claims queue behind them.
                drop(slot);
                writer::record_answer(
                    &self.deliveries,
                    AcceptedAnswer {
                        id: message.id,
                        sid,
                        twilio_status: status,
                        received_at: now,
                    },
                )
                .await
            }
            Verdict::BackOff { reason } => {
                if let Some(reason) = reason {
                    tracing::warn!(organisation_id = %organisation, reason, "Twilio unreachable; backing off");
                }
                self.with_pace(organisation, |pace| pace.back_off(Instant::now()));
                outbound::release(&self.pool, message.id, now).await
            }
            Verdict::CredentialsRejected => {
                outbound::release(&self.pool, message.id, now).await?;
                integration::mark_rejected_while_sending(
                    &self.pool,
                    organisation,
                    sender.integration_version,
                    now,
                )
                .await?;
                Ok(())
            }
            Verdict::PauseOrganisation { reason } => {
                outbound::release(&self.pool, message.id, now).await?;
                let mut conn = crate::db::write_connection(&self.pool).await?;
                campaigns::pause_running_campaigns(&mut conn, organisation, &reason).await?;
                tracing::warn!(organisation_id = %organisation, reason, "campaigns paused");
                Ok(())
            }
            Verdict::Refused { code, text } => {
                crate::metrics::message_failed(code);
                outbound::record_refused(&self.pool, message, code, &text, now).await
            }
            Verdict::OutcomeUnknown { reason } => {
                tracing::warn!(
                    message_id = %message.id,
                    reason,
                    "a send's outcome is unknown; it will be reconciled, not resent"
                );
                Ok(())
            }
        }
    }

    /// `sent` messages with no news for a while: ask Twilio where they are.
    async fn check_quiet_messages(
        &self,
        senders: &mut Senders,
        now: clock::UnixTime,
    ) -> anyhow::Result<usize> {
        let quiet_since = now - self.settings.status_check_after.as_secs() as i64;
        let quiet = outbound::quiet_messages(&self.pool, now, quiet_since, 20).await?;
        for message in &quiet {
            let found = match self.sender(senders, message.organisation_id).await {
                Err(_) => None,
                Ok(sender) => self
                    .twilio
                    .fetch_message(&sender.account_sid, &sender.auth_token, &message.twilio_sid)
                    .await
                    .inspect_err(|e| {
                        tracing::warn!(message_id = %message.id, error = %e, "could not look up a message's status");
                    })
                    .ok(),
            };
            outbound::record_looked_up_status(&self.pool, message, found.as_ref(), now).await?;
        }
        Ok(quiet.len())
    }

    /// Messages whose lease ran out with no answer: a callback has not
    /// settled them, so ask Twilio whether the message exists.
    async fn reconcile(
        &self,
        senders: &mut Senders,
        now: clock::UnixTime,
    ) -> anyhow::Result<usize> {
        let expired = outbound::expired_leases(&self.pool, now, 20).await?;
        for message in &expired {
            self.reconcile_one(senders, message, now).await?;
        }
        Ok(expired.len())
    }

    /// Asks Twilio whether it has a message whose send's outcome is unknown.
    #[tracing::instrument(
        level = "error",
        skip_all,
        fields(organisation_id = %message.organisation_id, campaign_id = %message.campaign_id, message_id = %message.id)
    )]
    async fn reconcile_one(
        &self,
        senders: &mut Senders,
        message: &ClaimedMessage,
        now: clock::UnixTime,
    ) -> anyhow::Result<()> {
        let Ok(sender) = self.sender(senders, message.organisation_id).await else {
            // Its organisation cannot reach Twilio now (its campaigns are
            // paused): ask again later, without using up an attempt.
            outbound::extend_lease(&self.pool, message.id, now, self.lease_secs()).await?;
            return Ok(());
        };
        let found = self
            .twilio
            .find_message(
                &sender.account_sid,
                &sender.auth_token,
                &MessageSearch {
                    to: &message.phone,
                    body: &message.body,
                    messaging_service_sid: sender.messaging_service_sid.as_str(),
                    since: message.claimed_at - 60,
                },
            )
            .await;
        match found {
            Ok(Some(accepted)) => {
                tracing::info!(
                    message_id = %message.id,
                    "reconciled: Twilio has the message"
                );
                outbound::adopt_found(&self.pool, message.id, &accepted.sid, &accepted.status, now)
                    .await?;
            }
            Ok(None) => {
                tracing::info!(
                    message_id = %message.id,
                    "reconciled: Twilio never created the message; queued again"
                );
                outbound::release(&self.pool, message.id, now).await?;
            }
            Err(e) => {
                tracing::warn!(message_id = %message.id, error = %e, "could not reconcile a send yet");
                outbound::postpone_reconciliation(
                    &self.pool,
                    message.id,
                    now,
                    self.lease_secs(),
                    self.settings.reconcile_attempts,
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// What to do about Twilio's answer to one send.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Twilio has it: note its SID.
    Accepted { sid: String, status: String },
    /// Not sent (rate limited, or no connection): queue it again and slow
    /// this organisation down.
    BackOff { reason: Option<String> },
    /// The Auth Token stopped working: the integration becomes invalid,
    /// which pauses the organisation's campaigns.
    CredentialsRejected,
    /// Nothing this organisation sends can succeed: pause, saying why.
    PauseOrganisation { reason: String },
    /// Twilio refused this message (a bad number, an opt-out): it fails,
    /// the campaign goes on.
    Refused { code: Option<u64>, text: String },
    /// Maybe sent: leave it leased, to be reconciled, never resent blindly.
    OutcomeUnknown { reason: String },
}

fn verdict(answer: Result<AcceptedMessage, SendError>) -> Verdict {
    match answer {
        Ok(accepted) => Verdict::Accepted {
            sid: accepted.sid,
            status: accepted.status,
        },
        Err(SendError::Rejected(TwilioError::RateLimited)) => Verdict::BackOff { reason: None },
        Err(SendError::NotSent(reason)) => Verdict::BackOff {
            reason: Some(reason),
        },
        Err(SendError::Rejected(TwilioError::CredentialsRejected)) => Verdict::CredentialsRejected,
        Err(SendError::Rejected(
            error @ (TwilioError::Forbidden { .. }
            | TwilioError::NotFound
            | TwilioError::Api {
                code: Some(21701 | 21703 | 21704 | 20005 | 10001),
                ..
            }),
        )) => Verdict::PauseOrganisation {
            reason: format!(
                "Paused: Twilio refused to send for this organisation ({error}). An Org Admin should check the SMS settings, then resume."
            ),
        },
        Err(SendError::Rejected(TwilioError::Api { code, message, .. })) => Verdict::Refused {
            code,
            text: message,
        },
        Err(SendError::Rejected(TwilioError::Unreachable(reason)))
        | Err(SendError::OutcomeUnknown(reason)) => Verdict::OutcomeUnknown { reason },
    }
}

/// Twilio's `ValidityPeriod` for a message sent at `now`: what is left of
/// its campaign's validity, so that Twilio's own queue does not deliver it
/// late either, within the 1 to 36,000 seconds Twilio accepts.
pub fn validity_period(expires_at: clock::UnixTime, now: clock::UnixTime) -> u32 {
    (expires_at - now).clamp(1, 36_000) as u32
}

/// Claims the campaign's queued messages until `claimed` holds `wanted`,
/// through the process's writer (see `delivery::writer`). During its
/// recipients' quiet hours, only messages to recipients whose local time
/// is outside them: the rest stay queued until the window ends where they
/// are.
pub async fn claim_for_campaign(
    deliveries: &DeliveryWriter,
    campaign: &campaigns::RunningCampaign,
    claimed: &mut outbound::Claimed,
    wanted: usize,
    now: clock::UnixTime,
    lease_secs: i64,
) -> anyhow::Result<()> {
    let zones = match &campaign.quiet_hours {
        None => vec![outbound::Recipients::All],
        Some(quiet) => quiet
            .open(now)
            .into_iter()
            .map(|zone| outbound::Recipients::InZone(zone.map(str::to_owned)))
            .collect(),
    };
    for recipients in zones {
        let remaining = wanted.saturating_sub(claimed.taken());
        if remaining == 0 {
            break;
        }
        let claim = outbound::Claim {
            campaign: campaign.id,
            recipients,
            limit: remaining,
            now,
            lease_secs,
        };
        claimed.add(writer::claim(deliveries, claim).await?);
    }
    Ok(())
}

/// Starts the scheduled drafts whose time has come, under the help page's
/// rule as it stands now: a draft it refuses (credentials no longer valid,
/// no Messaging Service SID) stays a draft, unscheduled, and its page says
/// why. `now` is passed in: tests move it instead of waiting. Returns the
/// campaigns started.
pub async fn start_due_campaigns(
    pool: &Pool,
    keyring: &Keyring,
    now: clock::UnixTime,
) -> anyhow::Result<Vec<crate::ids::CampaignId>> {
    let mut started = Vec::new();
    for (organisation, campaign, subscribed) in campaigns::due_campaigns(pool, now).await? {
        if !subscribed {
            let problem = format!(
                "Not started at its scheduled time ({}): this organisation's Outreach subscription is not active.",
                local_time(pool, organisation, now).await
            );
            campaigns::scheduled_start_refused(pool, campaign, &problem).await?;
            continue;
        }
        let integration = fetch_effective_integration(pool, keyring, organisation).await?;
        match campaigns::run_campaign(
            pool,
            organisation,
            campaign,
            configuration(integration.as_ref()),
            now,
        )
        .await
        {
            Ok(_) => {
                tracing::info!(organisation_id = %organisation, campaign_id = %campaign, "scheduled campaign started");
                started.push(campaign);
            }
            Err(campaigns::RunError::NotAllowed(reason)) => {
                let problem = format!(
                    "Not started at its scheduled time ({}): {reason}",
                    local_time(pool, organisation, now).await
                );
                tracing::warn!(organisation_id = %organisation, campaign_id = %campaign, reason, "scheduled campaign not started");
                campaigns::scheduled_start_refused(pool, campaign, &problem).await?;
            }
            // Deleted or run by hand meanwhile: nothing to start.
            Err(campaigns::RunError::NotFound) => {}
            Err(e) => return Err(anyhow::anyhow!(e)),
        }
    }
    Ok(started)
}

/// `at` in the organisation's time zone, for sentences about its schedule.
async fn local_time(pool: &Pool, organisation: OrganisationId, at: clock::UnixTime) -> String {
    let zone = fetch_organisation(pool, organisation)
        .await
        .map(|o| o.time_zone)
        .unwrap_or_else(|_| "UTC".to_owned());
    clock::format_in(at, &zone)
}

#[cfg(test)]
mod tests {
    #[test]
    fn twilio_keeps_a_message_queued_no_longer_than_its_campaign_is_valid() {
        use super::validity_period;
        assert_eq!(validity_period(1_000 + 600, 1_000), 600);
        // A day of validity is more than Twilio takes: its most, 10 hours.
        assert_eq!(validity_period(1_000 + 86_400, 1_000), 36_000);
        // Claimed just before the end: at least a second.
        assert_eq!(validity_period(1_000, 1_000), 1);
    }

    use super::*;

    #[test]
    fn every_answer_twilio_gives_a_send_has_one_verdict() {
        let api = |status: u16, code: u64| {
            Err(SendError::Rejected(TwilioError::Api {
                status,
                code: Some(code),
                message: format!("error {code}"),
            }))
        };
        let pauses = |answer: Result<AcceptedMessage, SendError>| matches!(verdict(answer), Verdict::PauseOrganisation { reason } if reason.starts_with("Paused: Twilio refused to send"));
        assert_eq!(
            verdict(Ok(AcceptedMessage {
                sid: "SM1".to_owned(),
                status: "accepted".to_owned(),
                error_code: None,
                error_message: None,
                created_at: None,
            })),
            Verdict::Accepted {
                sid: "SM1".to_owned(),
                status: "accepted".to_owned()
            }
        );
        assert_eq!(
            verdict(Err(SendError::Rejected(TwilioError::RateLimited))),
            Verdict::BackOff { reason: None }
        );
        assert_eq!(
            verdict(Err(SendError::NotSent("refused".to_owned()))),
            Verdict::BackOff {
                reason: Some("refused".to_owned())
            }
        );
        assert_eq!(
            verdict(Err(SendError::Rejected(TwilioError::CredentialsRejected))),
            Verdict::CredentialsRejected
        );
        assert!(pauses(Err(SendError::Rejected(TwilioError::NotFound))));
        assert!(pauses(Err(SendError::Rejected(TwilioError::Forbidden {
            code: None
        }))));
        for code in [21701, 21703, 21704, 20005, 10001] {
            assert!(pauses(api(400, code)), "{code}");
        }
        for code in [21211, 21610, 21612, 21408, 21614] {
            assert_eq!(
                verdict(api(400, code)),
                Verdict::Refused {
                    code: Some(code),
                    text: format!("error {code}")
                }
            );
        }
        for answer in [
            Err(SendError::OutcomeUnknown("timed out".to_owned())),
            Err(SendError::Rejected(TwilioError::Unreachable(
                "timed out".to_owned(),
            ))),
        ] {
            assert_eq!(
                verdict(answer),
                Verdict::OutcomeUnknown {
                    reason: "timed out".to_owned()
                }
            );
        }
    }

    #[test]
    fn rate_limits_back_off_exponentially_with_jitter_and_reset_on_success() {
        let start = Instant::now();
        let mut pace = Pace::default();
        assert!(!pace.backing_off(start));
        let mut ceilings = Vec::new();
        for _ in 0..8 {
            pace.back_off(start);
            let delay = pace.backoff_until.unwrap() - start;
            ceilings.push(delay);
            assert!(pace.backing_off(start), "no sends while backing off");
        }
        assert!(ceilings[0] <= Duration::from_millis(500));
        assert!(ceilings[0] >= Duration::from_millis(250));
        assert!(ceilings[7] <= Duration::from_secs(30));
        assert!(ceilings[7] >= Duration::from_secs(8));
        assert!(!pace.backing_off(start + Duration::from_secs(31)));
        pace.succeeded();
        pace.back_off(start);
        assert!(pace.backoff_until.unwrap() - start <= Duration::from_millis(500));
    }

    #[test]
    fn a_stock_of_tokens_is_used_while_fresh_then_goes_back() {
        let start = Instant::now();
        let mut pace = Pace::default();
        assert_eq!(pace.take_stock(5, start), 0, "nothing stocked yet");
        pace.restock(8, start);
        assert_eq!(pace.take_stock(5, start), 5);
        assert_eq!(pace.expired_stock(start + Duration::from_millis(50)), 0);
        assert_eq!(pace.take_stock(5, start + Duration::from_millis(50)), 3);
        // Put back unused, they stay as old as their slice.
        pace.put_back(2);
        let later = start + STOCK_LIFETIME;
        assert_eq!(pace.take_stock(5, later), 0, "too old to use");
        assert_eq!(pace.expired_stock(later), 2, "given back");
        assert_eq!(pace.expired_stock(later), 0);
        pace.restock(4, later);
        assert_eq!(pace.take_stock(5, later), 4);
    }
}
