//! Turns the files under `src/server/routes` into the app's routes.

fn main() {
    crosswire_build::routes().emit();
}
