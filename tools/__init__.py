"""What drives the running app from outside: the app runner (start the server, open pages in
headless Chromium) used by the browser tests, and the browser part of ``bench``. Not part of the
engine: interp_core never imports this package (it runs ``python -m tools.bench_app`` as a process).
"""
