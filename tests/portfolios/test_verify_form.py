"""/verify renders through the shared field macro: an unknown id is marked on its field."""

import re


def test_an_unknown_id_is_marked_on_its_field_and_kept(client, db):
    response = client.get("/verify?id=ABCD-EFGH-IJKL-MNOP")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    field = re.search(r'<input[^>]*name="id"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="id-hint id-error"' in field
    assert 'value="ABCD-EFGH-IJKL-MNOP"' in field
    assert '<p class="error" id="id-error">No issued portfolio has this id.</p>' in html


def test_the_empty_form_has_no_error(client, db):
    html = client.get("/verify").get_data(as_text=True)
    assert "aria-invalid" not in html
