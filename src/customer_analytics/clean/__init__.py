"""Stage 02_clean: ordered rules (rules.yaml) applied by one engine, with quarantine and accounting."""
