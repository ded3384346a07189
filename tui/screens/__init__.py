"""One module per screen, imported by the app only when the screen is first opened."""
