"""The lesson list in groups: the course notebooks' lessons, then further topics, each headed by
its progress; the headings are never highlighted, so the arrow keys walk from lesson to lesson."""

from __future__ import annotations

from tests.ui.conftest import until
from tutor.lesson import GROUPS, catalogue, load
from tutor.progress import Progress
from tutor.ui.app import TutorApp
from tutor.ui.screens.lesson import LessonScreen
from tutor.ui.screens.lesson_list import LessonListScreen


def heading(group: str, done: int, solved: int) -> str:
    members = [item for item in catalogue() if item.group == group]
    exercises = sum(item.exercises for item in members)
    return f"{group}: {done}/{len(members)} lessons done, {solved}/{exercises} exercises solved"


async def test_groups_are_headed_by_their_progress_and_skipped_by_the_keys(tmp_path):
    progress = Progress(tmp_path / "progress.json")
    neuron = load(catalogue()[0].path)
    for ex in neuron.exercises:  # the first lesson done: every exercise solved
        progress.solve(neuron.id, ex.id, len(neuron.exercises))
    app = TutorApp(progress=progress)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonListScreen), "the lesson list")
        options = app.screen.query_one("#lessons")
        await until(pilot, lambda: options.option_count > 2, "the lessons listed")
        texts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        course, further = ids.index("group-0"), ids.index("group-1")
        assert texts[course] == heading(GROUPS[0], 1, len(neuron.exercises))
        assert texts[further] == heading(GROUPS[1], 0, 0)
        listing = [item.id for item in app.listing]
        assert [i for i in ids if not i.startswith("group-")] == ["sandbox", "playground", *listing]
        assert ids[further + 1] == next(item.id for item in app.listing if item.group == GROUPS[1])
        assert (
            options.get_option_at_index(course).disabled
            and options.get_option_at_index(further).disabled
        )
        # from the last lesson of the course, down goes to the first further topic, past the heading
        last_course = max(i for i, item in enumerate(app.listing) if item.group == GROUPS[0])
        options.highlighted = ids.index(app.listing[last_course].id)
        await pilot.press("down")
        assert options.highlighted_option.id == app.listing[last_course + 1].id
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the further topic")
        assert app.screen.lesson.id == app.listing[last_course + 1].id
