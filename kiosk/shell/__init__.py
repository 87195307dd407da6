"""The gate application's imperative shell: the controller that owns the gate's state on
the one owner thread and carries out the core's commands, the status monitor, systemd
notification. No pygame here (that is kiosk/ui/), no decisions (those are kiosk/core/).
"""
