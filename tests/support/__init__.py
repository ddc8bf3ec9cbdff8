"""Helpers that several tests share: KaTeX as a LaTeX checker, headless Chromium, DOM reading."""
