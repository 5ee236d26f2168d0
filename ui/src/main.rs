fn main() {
    spondon_ui::start();
}
