"""Provider pages: list, create/edit with inline errors, detail, delete confirmation, toggle."""

from webapp.extensions import db
from webapp.models import AiConnection, AiConnectionUsage, AiProvider


def test_list_shows_counts_and_default(logged_in, ctx, make_provider, make_connection):
    provider = make_provider(slug="openai", name="OpenAI prod")
    first = make_connection(provider, name="first")
    make_connection(provider, name="second", status="inactive")
    provider.default_connection_id = first.id
    db.session.commit()
    page = logged_in.get("/providers/").get_data(as_text=True)
    assert "OpenAI prod" in page and "<code>openai</code>" in page
    assert "1 / 2" in page
    assert "first" in page  # the default connection's name


def test_empty_list_points_to_the_form(logged_in):
    page = logged_in.get("/providers/").get_data(as_text=True)
    assert "No providers yet" in page and "/providers/new" in page


def test_create_provider_redirects_to_its_page(logged_in, ctx):
    response = logged_in.post("/providers/new", data={
        "name": "Gemini", "slug": "gemini", "adapter_kind": "gemini", "status": "active"})
    provider = db.session.scalar(db.select(AiProvider).where(AiProvider.slug == "gemini"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/providers/{provider.id}"
    follow = logged_in.get(response.headers["Location"])
    assert "Provider “Gemini” was created." in follow.get_data(as_text=True)


def test_create_with_bad_values_shows_inline_errors(logged_in, ctx, make_provider):
    make_provider(slug="taken")
    response = logged_in.post("/providers/new", data={
        "name": "", "slug": "Bad Slug!", "adapter_kind": "nope", "status": "active"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This field is required." in page
    assert "Use lowercase letters" in page
    assert "Not a valid choice" in page
    duplicate = logged_in.post("/providers/new", data={
        "name": "Again", "slug": "taken", "adapter_kind": "openai", "status": "active"})
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(AiProvider.id))) == 1


def test_edit_provider(logged_in, ctx, make_provider):
    provider = make_provider(slug="openai")
    page = logged_in.get(f"/providers/{provider.id}/edit").get_data(as_text=True)
    assert 'value="openai"' in page
    response = logged_in.post(f"/providers/{provider.id}/edit", data={
        "name": "Renamed", "slug": "openai", "adapter_kind": "openai", "status": "inactive"})
    assert response.status_code == 302
    db.session.expire_all()
    assert provider.name == "Renamed" and provider.status == "inactive"


def test_unknown_provider_is_a_404(logged_in):
    for url in ("/providers/999", "/providers/999/edit", "/providers/999/delete"):
        response = logged_in.get(url)
        assert response.status_code == 404, url
        assert "does not exist" in response.get_data(as_text=True)


def test_delete_asks_first_and_keeps_usage_history(logged_in, ctx, make_provider,
                                                   make_connection):
    provider = make_provider(slug="doomed", name="Doomed")
    connection = make_connection(provider, name="c1")
    make_connection(provider, name="c2")
    db.session.add(AiConnectionUsage(connection_id=connection.id, provider_id=provider.id,
                                     connection_name="c1", request_id="r1", success=True))
    db.session.commit()
    confirm = logged_in.get(f"/providers/{provider.id}/delete").get_data(as_text=True)
    assert "2 connections" in confirm and "will be deleted" in confirm
    assert "Usage history is kept" in confirm and "1 usage row " in confirm
    assert db.session.get(AiProvider, provider.id) is not None  # GET changes nothing
    response = logged_in.post(f"/providers/{provider.id}/delete")
    assert response.status_code == 302 and response.headers["Location"] == "/providers/"
    db.session.expire_all()
    assert db.session.get(AiProvider, provider.id) is None
    assert db.session.scalar(db.select(db.func.count(AiConnection.id))) == 0
    row = db.session.scalar(db.select(AiConnectionUsage))
    assert row.connection_name == "c1" and row.connection_id is None


def test_toggle_without_javascript_redirects_with_a_flash(logged_in, ctx, make_provider):
    provider = make_provider(slug="openai", name="OpenAI")
    response = logged_in.post(f"/providers/{provider.id}/toggle")
    assert response.status_code == 302 and response.headers["Location"] == "/providers/"
    page = logged_in.get("/providers/").get_data(as_text=True)
    assert "Provider “OpenAI” is now inactive." in page
    db.session.expire_all()
    assert provider.status == "inactive"


def test_detail_lists_connections_in_priority_order_with_rotation_state(
        logged_in, ctx, make_provider, make_connection):
    provider = make_provider(slug="openai")
    make_connection(provider, name="later", priority=20, rate_limit_per_minute=5)
    make_connection(provider, name="sooner", priority=10)
    make_connection(provider, name="off", priority=5, status="disabled",
                    disabled_reason="invalid API key")
    page = logged_in.get(f"/providers/{provider.id}").get_data(as_text=True)
    assert page.index("off") < page.index("sooner") < page.index("later")
    assert f'data-sortable-reorder="/providers/{provider.id}/reorder"' in page
    assert "drag-handle" in page and "Sortable.min.js" in page
    assert "rotation-state" in page and "/5" in page  # minute headroom against the limit


def test_set_default_connection_and_refuse_a_foreign_one(logged_in, ctx, make_provider,
                                                         make_connection):
    provider = make_provider(slug="openai")
    other = make_provider(slug="other")
    mine = make_connection(provider, name="mine")
    foreign = make_connection(other, name="foreign")
    response = logged_in.post(f"/providers/{provider.id}/default",
                              data={"default_connection_id": str(mine.id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert provider.default_connection_id == mine.id
    refused = logged_in.post(f"/providers/{provider.id}/default",
                             data={"default_connection_id": str(foreign.id)})
    assert refused.status_code == 400
    assert "one of this provider" in refused.get_data(as_text=True)
    garbage = logged_in.post(f"/providers/{provider.id}/default",
                             data={"default_connection_id": "abc"})
    assert garbage.status_code == 400
    db.session.expire_all()
    assert provider.default_connection_id == mine.id
    cleared = logged_in.post(f"/providers/{provider.id}/default",
                             data={"default_connection_id": ""})
    assert cleared.status_code == 302
    db.session.expire_all()
    assert provider.default_connection_id is None


def test_reset_error_counts(logged_in, ctx, make_provider, make_connection):
    provider = make_provider(slug="openai")
    connection = make_connection(provider, name="flaky", error_count=7, consecutive_failures=2)
    response = logged_in.post(f"/providers/{provider.id}/reset-errors")
    assert response.status_code == 302
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Error counts were reset on 1 connection(s)." in page
    db.session.expire_all()
    assert connection.error_count == 0
