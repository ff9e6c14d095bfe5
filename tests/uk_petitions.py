"""UK Parliament petition documents, written from the site's documented JSON structure.

``{"links": {"self": URL}, "data": {"type": "petition", "id": N, "attributes": {...}}}``
with the count, the title (``action``), the state, timestamps, the government's response
and debate (null or objects), and the per-country, per-constituency and per-region counts
as lists of objects with a ``signature_count`` each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

COUNTRIES = [("United Kingdom", "GB"), ("France", "FR"), ("Spain", "ES"), ("Germany", "DE"),
             ("Ireland", "IE"), ("Australia", "AU")]
REGIONS = ["London", "South East", "North West", "Scotland", "Wales", "Northern Ireland"]


def constituencies(n: int) -> list[tuple[str, str, str]]:
    """(name, ONS code, MP) of ``n`` constituencies; the UK has 650."""
    return [(f"Constituency {i:03d}", f"E14{i:06d}", f"MP {i:03d}") for i in range(1, n + 1)]


def spread(total: int, names: list[Any], weights: list[int] | None = None) -> list[int]:
    """``total`` split over ``names`` by ``weights`` (default: falling with position)."""
    weights = weights or [len(names) - i for i in range(len(names))]
    parts = [total * w // sum(weights) for w in weights]
    parts[0] += total - sum(parts)
    return parts


@dataclass
class Petition:
    """One petition whose figures a test changes between polls."""

    id: int = 700123
    action: str = "Fund free school meals for every child in England"
    state: str = "open"
    count: int = 9_950
    abroad: int = 40  # signatures from outside the UK
    seats: int = 12  # how many constituencies it lists
    response: bool = False
    debate: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        home = self.count - self.abroad
        countries = [(name, code, n) for (name, code), n in zip(
            COUNTRIES, [home, *spread(self.abroad, COUNTRIES[1:])], strict=True) if n]
        seats = constituencies(self.seats)
        by_seat = spread(home, seats) if self.count else [0] * len(seats)
        attributes: dict[str, Any] = {
            "action": self.action,
            "background": "Every child should be able to eat at school.",
            "additional_details": "Hunger harms learning.",
            "committee_note": None,
            "state": self.state,
            "signature_count": self.count,
            "created_at": "2026-05-01T09:00:00.000Z",
            "updated_at": "2026-06-01T09:00:00.000Z",
            "open_at": "2026-05-02T09:00:00.000Z",
            "closed_at": "2026-11-02T23:59:59.999Z" if self.state == "closed" else None,
            "moderation_threshold_reached_at": "2026-05-01T10:00:00.000Z",
            "response_threshold_reached_at": (
                "2026-05-20T09:00:00.000Z" if self.count >= 10_000 else None),
            "government_response_at": "2026-06-10T12:00:00.000Z" if self.response else None,
            "debate_threshold_reached_at": (
                "2026-07-01T09:00:00.000Z" if self.count >= 100_000 else None),
            "scheduled_debate_date": None,
            "debate_outcome_at": "2026-09-01T12:00:00.000Z" if self.debate else None,
            "creator_name": None,
            "rejection": None,
            "government_response": {
                "responded_on": "2026-06-10",
                "summary": "The Government is committed to tackling child hunger.",
                "details": "Free school meals are available to children in need.",
            } if self.response else None,
            "debate": {
                "debated_on": "2026-09-01",
                "transcript_url": "https://hansard.parliament.uk/x",
                "video_url": "https://parliamentlive.tv/x",
                "debate_pack_url": "https://researchbriefings.parliament.uk/x",
            } if self.debate else None,
            "departments": [],
            "topics": [],
            "signatures_by_country": [
                {"name": name, "code": code, "signature_count": n}
                for name, code, n in countries],
            "signatures_by_constituency": [
                {"name": name, "ons_code": ons, "mp": mp, "signature_count": n}
                for (name, ons, mp), n in zip(seats, by_seat, strict=True)],
            "signatures_by_region": [
                {"name": name, "ons_code": f"E1500000{i}", "signature_count": n}
                for i, (name, n) in enumerate(zip(REGIONS, spread(home, REGIONS),
                                                  strict=True)) if n],
            **self.extra,
        }
        return {
            "links": {"self": f"https://petition.parliament.uk/petitions/{self.id}.json"},
            "data": {"type": "petition", "id": self.id, "attributes": attributes},
        }

    def body(self) -> bytes:
        return json.dumps(self.document()).encode()
