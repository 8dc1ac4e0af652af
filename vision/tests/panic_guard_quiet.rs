//! `quiet_caught_panics` keeps the panic hook silent for panics `catch_panic` catches and hands
//! every other panic to the hook installed before. One test in its own binary: the hook is
//! process-wide, and other tests panicking in parallel would be counted.

use std::panic::{catch_unwind, PanicHookInfo};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use lookout_vision::panic_guard::{catch_panic, quiet_caught_panics};

#[test]
fn caught_panics_are_silent_and_the_others_reach_the_previous_hook() {
    let heard = Arc::new(AtomicUsize::new(0));
    let counter = heard.clone();
    std::panic::set_hook(Box::new(move |_: &PanicHookInfo| {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    quiet_caught_panics();

    let caught = catch_panic(|| -> u8 { panic!("a decoder assertion") });
    assert_eq!(caught, Err("a decoder assertion".to_string()));
    assert_eq!(heard.load(Ordering::SeqCst), 0, "a caught panic reached the hook");

    // A panic outside the guard, on this thread and on another, is heard as before.
    assert!(catch_unwind(|| panic!("ours")).is_err());
    assert!(std::thread::spawn(|| panic!("a thread's")).join().is_err());
    assert_eq!(heard.load(Ordering::SeqCst), 2);
    let _ = std::panic::take_hook();
}
