//! Progress of long computations, and a chance for the caller to yield between their steps.

/// Told how a long computation advances. In a browser, `progress` is also where the page awaits
/// its event loop, so it stays responsive; natively it can draw a progress bar.
pub trait Observer {
    /// `done` of `total` units of `stage` are finished.
    fn progress(&mut self, stage: &str, done: usize, total: usize) -> impl Future<Output = ()>;
}

/// Ignores progress.
impl Observer for () {
    async fn progress(&mut self, _stage: &str, _done: usize, _total: usize) {}
}
