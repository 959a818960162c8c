"""HTTP plumbing around the UI: browser identity, security headers, limits, media links.

Pure ASGI middlewares and routes (Starlette only): no Gradio and no provider HTTP here.
"""
