//! [`LeaseCoordinatorBuilder`].

use super::*;

/// Builds a [`LeaseCoordinator`]; see [`LeaseCoordinator::builder`].
#[must_use]
pub struct LeaseCoordinatorBuilder {
    repository: Arc<dyn LeaseRepository>,
    worker_id: String,
    strategy: Option<Arc<dyn AssignmentStrategy>>,
    settings: CoordinatorSettings,
    handover: Option<Handover>,
    telemetry: Telemetry,
}

impl fmt::Debug for LeaseCoordinatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseCoordinatorBuilder")
            .field("repository", &self.repository)
            .field("worker_id", &self.worker_id)
            .field("strategy", &self.strategy)
            .field("settings", &self.settings)
            .field("handover", &self.handover)
            .field("telemetry", &self.telemetry)
            .finish()
    }
}

impl LeaseCoordinatorBuilder {
    pub(super) fn new(repository: Arc<dyn LeaseRepository>, worker_id: String) -> Self {
        Self {
            repository,
            worker_id,
            strategy: None,
            settings: CoordinatorSettings::default(),
            handover: None,
            telemetry: Telemetry::none(),
        }
    }

    /// Where the coordinator reports: the KCL's lease metrics (`RenewAllLeases`, `TakeLeases`,
    /// and under the KCL 3.x rules `LeaseDiscovery` and `LeaseAssignmentManager`, with the
    /// `WorkerIdentifier` dimension) and every [`LeaseEvent`]. Default: none (the
    /// [`events`](LeaseCoordinator::events) stream still works: it is a recorder of its own).
    pub fn telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// The [`Handover`] on which this coordinator announces the leases it releases and hears
    /// those the other workers release (then running a take pass at once). Default: none, so
    /// released leases are taken at the next take tick.
    pub fn handover(mut self, handover: Handover) -> Self {
        self.handover = Some(handover);
        self
    }

    /// The assignment strategy. Default: [`Balanced`] (the KCL 2.x taker's rules).
    pub fn strategy(mut self, strategy: Arc<dyn AssignmentStrategy>) -> Self {
        self.strategy = Some(strategy);
        self
    }

    /// The settings. Default: [`CoordinatorSettings::default`].
    pub fn settings(mut self, settings: CoordinatorSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The coordinator, not started yet: subscribe to [`events`](LeaseCoordinator::events) and
    /// take the [`acquisitions`](LeaseCoordinator::acquisitions) before
    /// [`start`](LeaseCoordinator::start) to see everything.
    pub fn build(self) -> LeaseCoordinator {
        let settings = self.settings;
        let (events, _) = broadcast::channel(settings.event_capacity.max(1));
        let (acq_tx, acq_rx) = mpsc::channel(settings.acquisition_capacity.max(1));
        let (stop, _) = watch::channel(false);
        let (held_count, _) = watch::channel(0usize);
        let kcl3 = match &settings.protocol {
            crate::LeaseProtocol::Kcl3(k) => Some(Kcl3State::new(&self.worker_id, k.clone())),
            crate::LeaseProtocol::Kcl2 => None,
        };
        let span = tracing::info_span!("lease_coordinator", worker_id = %self.worker_id);
        // The event stream is a view over the seam: one recorder among the caller's.
        let telemetry = self
            .telemetry
            .with(kinesis_client::telemetry::Broadcast::new(events.clone()));
        let shared = Arc::new(Shared {
            span,
            telemetry,
            kcl3,
            repository: self.repository,
            worker_id: self.worker_id,
            strategy: self
                .strategy
                .unwrap_or_else(|| Arc::new(Balanced::new()) as Arc<dyn AssignmentStrategy>),
            settings,
            handover: self.handover,
            state: Mutex::new(State::default()),
            events,
            acq_tx: Mutex::new(Some(acq_tx)),
            acq_rx: Mutex::new(Some(acq_rx)),
            stop,
            held_count,
            next_generation: AtomicU64::new(0),
            take_lock: tokio::sync::Mutex::new(()),
        });
        LeaseCoordinator {
            handle: Arc::new(Handle {
                shared,
                started: AtomicBool::new(false),
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }
}
