"""What a caseworker or a case system does to a case: one place for the CLI, dashboard and API.

Each action takes a database session, the vault or index when it seals or looks up, an
`actor` (a signed-in user's e-mail, or `cli:<os user>`) and `now`, and audits itself in the
caller's transaction. Errors, drawn once:

    casework.errors.Invalid          a request the caller can correct; `code` is stable
    storage.repo.errors.NotFound     a case, participant, session or alert that is not there
    storage.repo.errors.Conflict     a change that contradicts what is stored (an alert
                                     already acknowledged, a deactivated user)
"""
