from tests.conftest import login


def test_each_role_reaches_its_home(client, world):
    for key in ("director", "student", "preceptor", "patient"):
        person = world["mine"][key]
        login(client, person)
        page = client.get("/")
        assert page.status_code == 200
        assert person.name in page.get_data(as_text=True)
        client.post("/sign-out")
