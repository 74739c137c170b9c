"""Row ids: unique, sortable by creation time, and never repeated by a forked process."""

from __future__ import annotations

import os
import threading

from storage.models import new_id


def test_ids_are_unique_and_later_ones_sort_later() -> None:
    ids = [new_id() for _ in range(5000)]

    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert [i[:14] for i in ids] == sorted(i[:14] for i in ids)


def test_threads_draw_different_random_digits() -> None:
    found: list[list[str]] = [[], []]

    def draw(slot: int) -> None:
        found[slot] = [new_id()[14:] for _ in range(500)]

    threads = [threading.Thread(target=draw, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not set(found[0]) & set(found[1])


def test_a_forked_child_does_not_repeat_its_parents_next_ids() -> None:
    new_id()  # the parent now holds unused random digits
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids' random parts, then leave at once
        os.write(write, "".join(new_id()[14:] for _ in range(20)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode()
    os.close(read)

    parent = "".join(new_id()[14:] for _ in range(20))
    child_parts = {child[i:i + 18] for i in range(0, len(child), 18)}
    assert len(child_parts) == 20
    assert not child_parts & {parent[i:i + 18] for i in range(0, len(parent), 18)}
