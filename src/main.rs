//! The `gradcause` binary: the command-line tool natively, the page in a browser.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {
    // Run the module's static constructors (cubecl's `inventory` registrations) once, here.
    // Without an exported function that calls `__wasm_call_ctors`, the linker takes the module
    // for a run-once "command" and calls every constructor again at the top of every export:
    // on each call from JavaScript into the page (each DOM node a chart draws, each message),
    // about a millisecond each. See the `inventory` crate's notes on WebAssembly.
    unsafe extern "C" {
        fn __wasm_call_ctors();
    }
    // SAFETY: the linker-made function that runs the constructors; this is the module's first
    // code to run after instantiation, and `inventory`'s constructors are idempotent anyway.
    unsafe { __wasm_call_ctors() };
    gradcause::app::start();
}
