"""Each role's home page lists what waits for them, with empty states that say what to do."""

from datetime import timedelta

from sqlalchemy import select

from clerkship import clock
from clerkship.models import Assignment, Enrollment, PanelEntry, Role
from tests.conftest import login


def page(client, path="/"):
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_new_student_is_told_what_happens_next(client, student):
    login(client, student)
    html = page(client)
    assert "You are not enrolled in a clerkship cohort yet" in html
    assert "No preceptors yet" in html
    assert "No continuity patients yet" in html


def test_student_sees_their_preceptors_and_panel(client, world):
    mine = world["mine"]
    login(client, mine["student"])
    html = page(client)
    assert mine["preceptor"].name in html
    assert "Family medicine" in html
    assert mine["patient"].name in html
    assert "Program mine" in html
    assert world["other"]["preceptor"].name not in html
    # Their own portfolio is one tap from home (no other page links a student to it).
    assert f'href="/portfolios/{mine["student"].id}"' in html


def test_preceptor_sees_current_and_past_students(client, db, world, make_user):
    mine = world["mine"]
    former = make_user(Role.STUDENT)
    db.session.add(
        Assignment(
            cohort_id=mine["cohort"].id,
            student_id=former.id,
            preceptor_id=mine["preceptor"].id,
            discipline="Family medicine",
            start_date=clock.today() - timedelta(days=200),
            end_date=clock.today() - timedelta(days=20),
        )
    )
    db.session.commit()
    login(client, mine["preceptor"])
    html = page(client)
    current, past = html.split("Past students (read only)")
    assert f'href="/students/{mine["student"].id}"' in current
    assert former.name in past and former.name not in current


def test_preceptor_without_students_gets_an_empty_state(client, preceptor):
    login(client, preceptor)
    assert "You have no current students" in page(client)


def test_patient_sees_their_student_only(client, world):
    login(client, world["mine"]["patient"])
    html = page(client)
    assert world["mine"]["student"].name in html
    assert world["other"]["student"].name not in html


def test_director_sees_their_programs_with_cohort_sizes(client, world):
    login(client, world["mine"]["director"])
    html = page(client)
    assert "Program mine" in html
    assert "1 student" in html
    assert "Program other" not in html


def test_director_without_a_program_is_told_who_adds_them(client, director):
    login(client, director)
    assert "You do not direct a program yet" in page(client)


def test_admin_sees_counts_and_set_up(client, world):
    login(client, world["admin"])
    html = page(client)
    assert "Program director" in html
    assert "No competency frameworks are loaded" in html


def _add_students(db, world, n):
    cohort = world["mine"]["cohort"]
    for i in range(n):
        from clerkship.models import User

        student = User(email=f"extra{i}@example.org", name=f"Extra {i}", role=Role.STUDENT)
        db.session.add(student)
        db.session.flush()
        db.session.add(Enrollment(cohort_id=cohort.id, student_id=student.id))
        db.session.add(
            PanelEntry(
                cohort_id=cohort.id,
                student_id=student.id,
                patient_id=world["mine"]["patient"].id,
                consent_date=clock.today(),
            )
        )
    db.session.commit()


def test_cohort_page_costs_the_same_queries_for_any_size(client, db, world, count_queries):
    director = world["mine"]["director"]
    cohort_id = world["mine"]["cohort"].id
    login(client, director)
    with count_queries() as small:
        assert client.get(f"/cohorts/{cohort_id}").status_code == 200
    _add_students(db, world, 8)
    with count_queries() as large:
        html = client.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    assert "9 students" in html
    assert 0 < len(small) == len(large)
    enrolled = db.session.scalars(select(Enrollment).where(Enrollment.cohort_id == cohort_id))
    assert len(enrolled.all()) == 9


def test_patient_home_waits_only_on_open_goals(client, db, world, make_goal):
    """Dropped and achieved goals are not "waiting for you" (issue 16)."""
    from clerkship.goals import service as goals
    from clerkship.models import GoalStatus

    mine, other = world["mine"], world["other"]
    patient = mine["patient"]
    make_goal(
        mine["student"], title="Explain results plainly", share_with=[mine["preceptor"], patient]
    )
    dropped = make_goal(
        mine["student"], title="Dropped goal words", share_with=[mine["preceptor"], patient]
    )
    achieved = make_goal(
        mine["student"], title="Achieved goal words", share_with=[mine["preceptor"], patient]
    )
    make_goal(
        other["student"],
        title="Other program goal",
        share_with=[other["preceptor"], other["patient"]],
    )
    goals.agree(mine["preceptor"], achieved)
    for goal, outcome in ((dropped, GoalStatus.DROPPED), (achieved, GoalStatus.ACHIEVED)):
        goals.close_goal(mine["student"], goal, outcome, "Done with this one.")
    db.session.commit()

    login(client, patient)
    html = page(client)
    waiting, _, earlier = html.partition('id="earlier-h"')
    assert "Explain results plainly" in waiting
    assert "Dropped goal words" not in waiting and "Achieved goal words" not in waiting
    assert "Dropped goal words" in earlier and "Achieved goal words" in earlier
    assert "Other program goal" not in html


def test_director_home_lists_who_needs_attention_and_why(client, db, world):
    """Not a hard-coded "Nothing needs your attention": the dashboard's flags, with who or
    what each waits on, for this director's cohorts only."""
    cohort = world["mine"]["cohort"]
    cohort.start_date = clock.today() - timedelta(days=100)
    cohort.end_date = clock.today() + timedelta(days=100)
    world["other"]["cohort"].start_date = cohort.start_date
    world["other"]["cohort"].end_date = cohort.end_date
    db.session.commit()
    login(client, world["mine"]["director"])
    html = page(client)
    assert "Nothing needs your attention" not in html
    student = world["mine"]["student"]
    assert student.name in html and "no agreed learning goal" in html
    assert "waits on the student to draft and share one" in html
    assert world["other"]["student"].name not in html
    assert f"/cohorts/{cohort.id}/dashboard?show=attention" in html


def test_student_page_breadcrumb_leads_to_the_cohort(client, world):
    login(client, world["mine"]["director"])
    cohort = world["mine"]["cohort"]
    html = client.get(f"/students/{world['mine']['student'].id}").get_data(as_text=True)
    crumb = html[html.index('class="breadcrumb"') :][:400]
    assert f'href="/cohorts/{cohort.id}"' in crumb
