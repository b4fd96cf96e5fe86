"""A resumed run's TensorBoard file is read after the files already in the directory."""
import time

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ptnas.event_files import summary_writer


def test_resumed_writer_is_read_after_an_existing_file_of_the_same_second(tmp_path):
    first = summary_writer(tmp_path)
    first.add_scalar("loss", 1.0, 1)
    first.add_scalar("loss", 9.0, 2)  # the killed run got this far; the resumed run redoes step 2
    first.close()
    (old,) = tmp_path.glob("events.out.tfevents.*")
    # as if written by another process whose host/pid sorts after ours, in the current second
    stamp = int(time.time())
    old.rename(tmp_path / f"events.out.tfevents.{stamp}.zzzz.99999.0")

    resumed = summary_writer(tmp_path, purge_step=2)
    resumed.add_scalar("loss", 2.0, 2)
    resumed.close()

    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [(1, 1.0), (2, 2.0)]
