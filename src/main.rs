//! The `gradcause` binary: the command-line tool natively, the page in a browser.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {
    // The page itself comes with the browser-lab issue; until then it says what it is.
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a browser document");
    let body = document.body().expect("a page body");
    body.set_inner_html(
        "<main><h1>gradcause</h1><p>Does gradient attribution tell the truth about a \
         transformer? The engine is built; the interactive lab is on its way.</p></main>",
    );
}
