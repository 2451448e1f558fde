"""The event vocabulary: what the model writes and the analysis reads.

It imports nothing, and sits below both the SimPy model (which writes events) and
the analysis (which reduces them to tables), so that neither depends on the other.

An event is a tuple in :data:`EVENT_FIELDS` order: the arm's index (into the
scenario's arms), the patient's id, the episode (0 from entry; each discharge after
a readmission starts the next), the time in days, the event's name and a detail.

Each episode closes exactly once: with :data:`DISCHARGE` (the next episode starts at
the same time) or with one of :data:`EXITS` (death, loss to follow-up, end of
follow-up), which also end the patient's follow-up.
"""

EVENT_FIELDS = ("arm", "patient_id", "episode", "time_days", "event", "detail")
Event = tuple[int, int, int, float, str, str]

ENTRY = "entry"  # detail: risk group
OFFER = "offer"  # peer support offered
QUEUE = "queue"  # no worker free: joins the waiting list
LAPSE = "offer_lapsed"  # waited max_wait_days
START = "support_start"  # a worker takes the patient on
SESSION = "session"  # detail: attended | missed
SUPPORT_END = "support_end"  # detail: completed | disengaged | readmitted | exited
READMISSION = "readmission"  # detail: ward | crt
PLACE_WAIT = "place_wait"  # detail: ward | crt, the setting was full (overflow: queue)
ADMISSION = "admission"  # detail: ward | crt | out_of_area
DISCHARGE = "discharge"
DEATH, LOST, END = "death", "lost", "end"

EVENTS = (ENTRY, OFFER, QUEUE, LAPSE, START, SESSION, SUPPORT_END, READMISSION, PLACE_WAIT)
EVENTS += (ADMISSION, DISCHARGE, DEATH, LOST, END)
DETAILS = ("", "attended", "missed", "completed", "disengaged", "readmitted", "exited")
DETAILS += ("ward", "crt", "out_of_area")  # and the risk groups' names (ENTRY)

EXITS = (DEATH, LOST, END)  # close an episode and the patient's follow-up
CLOSES = (DISCHARGE, *EXITS)  # close an episode
PLACEMENTS = ("ward", "crt", "out_of_area")  # where an admission goes (ADMISSION's detail)
