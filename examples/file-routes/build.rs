fn main() {
    crosswire_build::routes().emit();
}
