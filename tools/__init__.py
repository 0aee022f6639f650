"""maskgate.board: everything that talks to a camera (serial link, deploy, capture, pull, bench)
and the virtual board. It may use the host package; the host's data and training stages never
import it."""
