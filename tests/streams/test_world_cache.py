"""The world cache follows table entries one by one and keeps the graph's reverse index exact."""

from __future__ import annotations

from schemas.events import OrgKind
from streams.state import dump
from streams.world_cache import COMPETITORS, ORGS, OWNERSHIP, WorldCache
from tests.support.builders import org, shareholding, stated


def holders(*statements) -> dict:
    return {s.interested_party_id: dump(s) for s in statements}


def test_orgs_and_competitors_follow_sets_and_deletes() -> None:
    cache = WorldCache()
    cache.apply(ORGS, "meta", dump(org("meta", kind=OrgKind.LAB)))
    cache.apply(COMPETITORS, "google", ["meta", "openai"])
    world = cache.world()
    assert world.orgs.by_id["meta"].kind is OrgKind.LAB
    assert world.competitors["google"] == ("meta", "openai")
    cache.apply(ORGS, "meta", None)
    cache.apply(COMPETITORS, "google", None)
    assert "meta" not in cache.world().orgs.by_id
    assert "google" not in cache.world().competitors


def test_reverse_index_follows_replacements_and_removals() -> None:
    cache = WorldCache()
    cache.apply(OWNERSHIP, "scale-ai", holders(stated("scale-ai", "meta", shareholding(49)),
                                               stated("scale-ai", "accel", shareholding(12))))
    cache.apply(OWNERSHIP, "turing", holders(stated("turing", "meta", shareholding(5))))
    graph = cache.world().graph
    assert graph.subjects_held_by("meta") == {"scale-ai", "turing"}
    assert graph.downstream({"meta"}) == {"meta", "scale-ai", "turing"}

    cache.apply(OWNERSHIP, "scale-ai", holders(stated("scale-ai", "accel", shareholding(12))))
    assert cache.world().graph.subjects_held_by("meta") == {"turing"}
    cache.apply(OWNERSHIP, "turing", None)
    assert cache.held_by == {"accel": {"scale-ai"}}, "no empty entries are left behind"


def test_rebuild_replaces_everything_from_one_table() -> None:
    cache = WorldCache()
    cache.apply(OWNERSHIP, "scale-ai", holders(stated("scale-ai", "meta", shareholding(49))))
    cache.rebuild(OWNERSHIP, [("turing", holders(stated("turing", "accel", shareholding(3))))])
    assert set(cache.holders) == {"turing"}
    assert cache.held_by == {"accel": {"turing"}}


def test_children_index_follows_a_parent_change_and_a_delete() -> None:
    cache = WorldCache()
    cache.apply(ORGS, "alphabet", dump(org("alphabet")))
    cache.apply(ORGS, "google", dump(org("google", "alphabet")))
    cache.apply(ORGS, "deepmind", dump(org("deepmind", "google")))
    assert cache.world().orgs.descendants("alphabet") == {"alphabet", "google", "deepmind"}
    cache.apply(ORGS, "google", dump(org("google", "meta")))  # a (hypothetical) sale of Google to Meta
    assert cache.world().orgs.descendants("alphabet") == {"alphabet"}
    assert cache.world().orgs.descendants("meta") == {"meta", "google", "deepmind"}
    cache.apply(ORGS, "deepmind", None)
    assert cache.children == {"meta": {"google"}}, "no empty entries are left behind"
    cache.rebuild(ORGS, [("x", dump(org("x", "y")))])
    assert cache.children == {"y": {"x"}}


def test_every_change_and_rebuild_moves_the_version_on() -> None:
    cache = WorldCache()
    seen = [cache.version]
    cache.apply(COMPETITORS, "google", ["meta"])
    seen.append(cache.version)
    cache.apply(COMPETITORS, "google", None)
    seen.append(cache.version)
    cache.rebuild(ORGS, [])
    seen.append(cache.version)
    assert seen == sorted(set(seen)), "what was worked out from an older world is never taken as current"
