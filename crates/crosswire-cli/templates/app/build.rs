//! Turns the files under `src/server/routes` into routes; see `crosswire routes`.

fn main() {
    crosswire_build::routes().emit();
}
