"""The textbook suite: derivatives from public references, each with the reference's own form.

``cases.py`` holds the data, ``harness.py`` builds and evaluates a case through einderiv's
public API and runs the textbook's numpy program, ``size.py`` measures readability (AST
nodes), and ``test_textbook.py`` checks every case numerically.
"""
