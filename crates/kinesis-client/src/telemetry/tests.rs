use std::sync::Mutex;

use super::*;

#[derive(Debug)]
struct Keep {
    level: MetricsLevel,
    seen: Mutex<Vec<(String, f64)>>,
    events: Mutex<Vec<String>>,
}

impl Keep {
    fn new(level: MetricsLevel) -> Arc<Self> {
        Arc::new(Self {
            level,
            seen: Mutex::new(Vec::new()),
            events: Mutex::new(Vec::new()),
        })
    }
    fn seen(&self) -> Vec<(String, f64)> {
        self.seen.lock().unwrap().clone()
    }
}

impl Recorder for Keep {
    fn level(&self) -> MetricsLevel {
        self.level
    }
    fn record(&self, m: &Measurement<'_>) {
        self.seen.lock().unwrap().push((m.name.to_owned(), m.value));
    }
    fn event(&self, event: &dyn Event) {
        if let Some(s) = event.downcast_ref::<&'static str>() {
            self.events.lock().unwrap().push((*s).to_owned());
        }
    }
}

#[test]
fn each_recorder_gets_only_its_levels() {
    let summary = Keep::new(MetricsLevel::Summary);
    let detailed = Keep::new(MetricsLevel::Detailed);
    let none = Keep::new(MetricsLevel::None);
    let t = Telemetry::new(Arc::clone(&summary))
        .with(Arc::clone(&detailed))
        .with(Arc::clone(&none));
    t.count(MetricsLevel::Summary, "A", &[], 2);
    t.time(
        MetricsLevel::Detailed,
        "B",
        &[],
        Duration::from_micros(1500),
    );
    t.success(MetricsLevel::Summary, "C", &[], false);
    assert_eq!(summary.seen(), vec![("A".into(), 2.0), ("C".into(), 0.0)]);
    assert_eq!(
        detailed.seen(),
        vec![("A".into(), 2.0), ("B".into(), 1.5), ("C".into(), 0.0)]
    );
    assert!(none.seen().is_empty());
}

#[test]
fn events_reach_every_recorder_and_unknown_types_are_ignored() {
    let a = Keep::new(MetricsLevel::None);
    let b = Keep::new(MetricsLevel::Detailed);
    let t = Telemetry::new(Arc::clone(&a)).and(&Telemetry::new(Arc::clone(&b)));
    t.event(&"lease taken");
    t.event(&42_u32);
    assert_eq!(*a.events.lock().unwrap(), vec!["lease taken".to_owned()]);
    assert_eq!(*b.events.lock().unwrap(), vec!["lease taken".to_owned()]);
    assert!(!t.is_enabled(MetricsLevel::None));
}

#[test]
fn no_recorder_no_level() {
    let t = Telemetry::none().and(&Telemetry::none());
    assert!(!t.has_recorders());
    assert!(!t.is_enabled(MetricsLevel::Summary));
    t.event(&"ignored");
}
