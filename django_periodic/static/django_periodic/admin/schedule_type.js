/*
 * The periodic task form: show the schedule field of the chosen type, and any
 * other schedule field that holds a value or an error (so nothing set is hidden:
 * the server names every schedule that is set when more than one is).
 */
'use strict';
{
    const kinds = ['interval', 'crontab', 'solar', 'clocked'];

    function refresh(form) {
        const checked = form.querySelector('input[name="schedule_type"]:checked');
        const chosen = checked ? checked.value : null;
        for (const kind of kinds) {
            const row = form.querySelector('.form-row.field-' + kind);
            const select = form.querySelector('select[name="' + kind + '"]');
            if (!row || !select) {
                continue;
            }
            const keep = kind === chosen || select.value !== '' || row.querySelector('.errorlist') !== null;
            row.classList.toggle('hidden', !keep);
        }
    }

    window.addEventListener('load', function() {
        const form = document.getElementById('periodictask_form');
        if (!form) {
            return;
        }
        form.addEventListener('change', function(event) {
            if (event.target.name === 'schedule_type') {
                refresh(form);
            }
        });
        refresh(form);
    });
}
