"""Text that both views show (the TUI and the headless runner), free of Textual."""
