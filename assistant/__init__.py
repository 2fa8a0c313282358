"""CareLoop, a virtual health assistant: one package, one folder per layer (see the
README's Layout; `lint-imports` checks that imports only point down)."""
