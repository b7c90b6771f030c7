"""HTTP: the drop-in inbound endpoints, the operations and mappings API, the admin page.

Controllers only: each reads the request, checks the caller's role (guards on the
controller class) and calls the layers below (intake, delivery, mappings, store).
"""
