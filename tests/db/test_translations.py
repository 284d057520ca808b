"""The shipped translations: the admin's task list and a validation error in each language."""

# ruff: noqa: RUF001 - the expected words are Japanese, Chinese and French text, punctuation included

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import translation

from django_periodic.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from tests.db.test_admin import TASKS

pytestmark = pytest.mark.django_db

#: Per language (as the browser asks for it): words the task list must show, written out
#: here, not read from the catalogue, so a missing or wrong catalogue fails.
PAGE = {
    "de": ["Periodische Aufgaben", "Nächste Ausführung", "Zeitplan", "Pausiert von alice: Wartung",
           "Ausgewählte periodische Aufgaben deaktivieren", "Alle 10 Sekunden"],
    "fr": ["Tâches périodiques", "Prochaine exécution", "Planification", "Mise en pause par alice : Wartung",
           "Désactiver les tâches périodiques sélectionnées", "Toutes les 10 secondes"],
    "es": ["Tareas periódicas", "Próxima ejecución", "Programación", "Pausada por alice: Wartung",
           "Desactivar las tareas periódicas seleccionadas", "Cada 10 segundos"],
    "pt-br": ["Tarefas periódicas", "Próxima execução", "Agendamento", "Pausada por alice: Wartung",
              "Desativar as tarefas periódicas selecionadas", "A cada 10 segundos"],
    "ja": ["定期タスク", "次回の実行", "スケジュール", "alice が一時停止：Wartung",
           "選択した定期タスクを無効にする", "10 秒ごと"],
    "zh-hans": ["定时任务", "下次运行", "调度", "由 alice 暂停：Wartung",
                "停用所选的定时任务", "每 10 秒"],
}  # fmt: skip

#: The start of the error for minute "61", per language.
MINUTE_ERROR = {
    "de": "'61' ist kein gültiger Wert für minute: 61 liegt außerhalb des Bereichs. Verwenden Sie 0-59",
    "fr": "'61' n’est pas une valeur valide pour minute : 61 est hors limites. Utilisez 0-59",
    "es": "'61' no es un valor válido para minute: 61 está fuera de rango. Use 0-59",
    "pt-br": "'61' não é um valor válido para minute: 61 está fora do intervalo. Use 0-59",
    "ja": "'61' は minute として無効です：61 は範囲外です。 0-59",
    "zh-hans": "'61' 不是有效的 minute：61 超出范围。 请使用 0-59",
}


@pytest.fixture
def tasks():
    every_10s = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="Import feed", task="proj.feed", interval=every_10s)
    paused = PeriodicTask.objects.create(name="Report", task="proj.report", interval=every_10s)
    paused.pause("alice", "Wartung")


@pytest.mark.parametrize("language", sorted(PAGE))
def test_the_task_list_in_each_language(admin_client, tasks, language):
    with translation.override(language):
        response = admin_client.get(TASKS, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'lang="{language}"' in page  # Django's own admin answers in that language too
    missing = [words for words in PAGE[language] if words not in page]
    assert missing == []
    assert "Next run" not in page and "Disable selected periodic tasks" not in page


@pytest.mark.parametrize("language", sorted(MINUTE_ERROR))
def test_a_validation_error_in_each_language(language):
    with translation.override(language), pytest.raises(ValidationError) as raised:
        CrontabSchedule(minute="61", timezone="UTC").full_clean()
    with translation.override(language):
        message = " ".join(raised.value.message_dict["minute"])
    assert message.startswith(MINUTE_ERROR[language].split(" 0-59")[0])
    assert "0-59" in message and "is not a valid" not in message


def test_english_stays_the_source(admin_client, tasks):
    page = admin_client.get(TASKS, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Next run" in page and "Paused by alice: Wartung" in page


#: What ``periodic_tasks pause`` says, per language.
PAUSED = {
    "de": "„Report“ pausiert: Beat sendet dafür nichts mehr.",
    "fr": "« Report » mise en pause : beat n’envoie plus rien pour elle.",
    "es": "«Report» en pausa: beat ya no envía nada para ella.",
    "pt-br": "“Report” pausada: o beat não envia mais nada para ela.",
    "ja": "「Report」を一時停止しました。beat はこのタスクを送信しなくなります。",
    "zh-hans": "已暂停“Report”：beat 不再发送此任务。",
}


@pytest.mark.parametrize("language", sorted(PAUSED))
def test_command_output_in_each_language(language):
    every_10s = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="Report", task="proj.report", interval=every_10s)
    out = StringIO()
    with translation.override(language):
        call_command("periodic_tasks", "pause", "Report", stdout=out)
    assert out.getvalue() == PAUSED[language] + "\n"
