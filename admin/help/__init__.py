"""The members' help centre under /aide: search, browse and read the knowledge base.

Its own templates, layout, session cookie and CSRF token; it never imports the advisers'
routes, and a member session opens none of them.
"""
