"""A dozen realistic French messages between the demo mailboxes. Fictitious people only.

Built with the standard `email` package; delivered through the operator's MX (Postfix), like
mail arriving from another MSSanté operator. Message-IDs are fixed so seeding is idempotent.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from webmail.demo import health
from webmail.demo.pdf import tiny_pdf

MARIE = "Dr Marie DURAND <marie.durand@operateur-a.mssante.test>"
KARIM = "Dr Karim BENALI <karim.benali@hopital-c.mssante.test>"
JEANNE = "Jeanne LEFÈVRE <jeanne.lefevre@operateur-a.mssante.test>"
PHARMACIE = "Pharmacie du Marché <pharmacie.marche@operateur-a.mssante.test>"
CARDIO = "Cardiologie — CH de C <cardiologie@hopital-c.mssante.test>"
PATIENT = "Camille MARTIN <275037512345693@patient.mssante.fr>"  # documents.samples.CAMILLE


@dataclass(frozen=True)
class DemoMessage:
    key: str
    sender: str
    to: str
    subject: str
    text: str
    hours_ago: float
    html: str = ""
    pdf_name: str = ""
    pdf_lines: tuple[str, ...] = ()
    documents: str = ""  # a package of webmail.demo.health (the subject gets XDM's prefix)

    @property
    def message_id(self) -> str:
        domain = self.sender.rsplit("@", 1)[1].rstrip(">")
        return f"<demo-{self.key}@{domain}>"


MESSAGES: tuple[DemoMessage, ...] = (
    DemoMessage(
        "01",
        KARIM,
        MARIE,
        "Compte rendu de consultation cardiologique — M. Bernard",
        "Chère consœur,\n\nJ'ai vu ce jour en consultation M. Paul Bernard, 67 ans, pour "
        "bilan d'une dyspnée d'effort.\nL'ECG est en rythme sinusal, sans trouble de la "
        "repolarisation. Je propose une échographie cardiaque de contrôle.\n\n"
        "Bien confraternellement,\nDr Karim Benali",
        hours_ago=170,
    ),
    DemoMessage(
        "02",
        PHARMACIE,
        MARIE,
        "Renouvellement d'ordonnance — question sur la posologie",
        "Bonjour Docteur,\n\nMme Martine Roux nous présente une ordonnance de renouvellement "
        "de lévothyroxine. La posologie indiquée (125 µg) diffère de la précédente (100 µg).\n"
        "Pouvez-vous nous confirmer la dose ?\n\nCordialement,\nPharmacie du Marché",
        hours_ago=150,
    ),
    DemoMessage(
        "03",
        CARDIO,
        MARIE,
        "Convocation : réunion de concertation pluridisciplinaire",
        "La RCP de cardiologie aura lieu jeudi à 14 h en salle 2.",
        hours_ago=120,
        html=(
            "<html><body><p>Madame, Monsieur,</p><p>La <b>réunion de concertation "
            "pluridisciplinaire</b> de cardiologie aura lieu :</p><table border='1'>"
            "<tr><th>Date</th><th>Heure</th><th>Lieu</th></tr>"
            "<tr><td>Jeudi</td><td>14 h</td><td>Salle 2, bâtiment B</td></tr></table>"
            "<p>Merci de confirmer votre présence.</p><p>Le secrétariat de cardiologie</p>"
            "</body></html>"
        ),
    ),
    DemoMessage(
        "04",
        KARIM,
        MARIE,
        "Résultats d'échographie cardiaque — M. Bernard",
        "Chère consœur,\n\nVous trouverez ci-joint le compte rendu de l'échographie de "
        "M. Bernard : FEVG conservée à 60 %, pas de valvulopathie significative.\n\n"
        "Bien à vous,\nDr Benali",
        hours_ago=96,
        pdf_name="Échographie_cardiaque_Bernard.pdf",
        pdf_lines=(
            "Centre hospitalier de C - Service de cardiologie",
            "Compte rendu d'échographie transthoracique",
            "Patient : M. Paul Bernard (fictif)",
            "FEVG : 60 %. Pas de valvulopathie significative.",
        ),
    ),
    DemoMessage(
        "05",
        JEANNE,
        MARIE,
        "Été : fermeture exceptionnelle — réorganisation des gardes",
        "Bonjour,\n\nLa pharmacie sera fermée du 10 au 24 août. Les patients seront orientés "
        "vers la pharmacie de garde (liste jointe à l'affichage).\n\nJeanne Lefèvre",
        hours_ago=72,
    ),
    DemoMessage(
        "06",
        MARIE,
        KARIM,
        "Demande d'avis : souffle systolique chez une patiente de 54 ans",
        "Cher confrère,\n\nJe vous adresse Mme Hélène Girard, 54 ans, chez qui j'ausculte un "
        "souffle systolique 2/6 au foyer aortique, asymptomatique.\nMerci de votre avis.\n\n"
        "Bien confraternellement,\nDr Marie Durand",
        hours_ago=60,
    ),
    DemoMessage(
        "07",
        CARDIO,
        KARIM,
        "Planning des astreintes de décembre",
        "Le planning des astreintes de décembre est disponible.",
        hours_ago=48,
        html=(
            "<html><body><h2>Astreintes de décembre</h2><ul><li>Semaine 49 : Dr Benali</li>"
            "<li>Semaine 50 : Dr Nguyen</li><li>Semaine 51 : Dr Moreau</li></ul>"
            "<p style='color:#555'>Échanges possibles jusqu'au 25 novembre.</p></body></html>"
        ),
    ),
    DemoMessage(
        "08",
        MARIE,
        PHARMACIE,
        "Ordonnance — préparation magistrale",
        "Bonjour,\n\nCi-joint l'ordonnance de préparation magistrale pour M. Yves Petit "
        "(pommade à l'oxyde de zinc 10 %).\n\nDr Marie Durand",
        hours_ago=30,
        pdf_name="ordonnance_préparation.pdf",
        pdf_lines=(
            "Dr Marie Durand - Médecin généraliste",
            "Cabinet médical des Tilleuls",
            "Préparation magistrale : pommade oxyde de zinc 10 %, 100 g",
            "Patient : M. Yves Petit (fictif)",
        ),
    ),
    DemoMessage(
        "09",
        KARIM,
        PHARMACIE,
        "Traitement anticoagulant — point de vigilance",
        "Bonjour,\n\nM. Bernard débute un traitement par apixaban 5 mg deux fois par jour. "
        "Merci de vérifier l'absence d'interaction avec son traitement habituel.\n\n"
        "Dr Benali",
        hours_ago=20,
    ),
    DemoMessage(
        "10",
        MARIE,
        CARDIO,
        "Adressage : Mme Lemoine, 78 ans, palpitations",
        "Bonjour,\n\nJe souhaite un rendez-vous de consultation pour Mme Odette Lemoine, "
        "78 ans, qui présente des palpitations depuis trois semaines.\n\nDr Marie Durand",
        hours_ago=10,
    ),
    DemoMessage(
        "11",
        KARIM,
        CARDIO,
        "Protocole insuffisance cardiaque — mise à jour",
        "Le protocole a été mis à jour.",
        hours_ago=5,
        html=(
            "<html><body><p>Bonjour à toutes et à tous,</p><p>Le protocole de prise en charge "
            "de l'<i>insuffisance cardiaque</i> a été mis à jour (titration des bêtabloquants)."
            "</p><p>Dr Benali</p></body></html>"
        ),
    ),
    DemoMessage(
        "12",
        MARIE,
        JEANNE,
        "Interaction médicamenteuse ? — « urgent »",
        "Bonjour Jeanne,\n\nPeux-tu me rappeler au sujet de l'association clarithromycine + "
        "simvastatine pour une patiente commune ?\n\nMerci,\nMarie",
        hours_ago=2,
    ),
    # Health documents (issue 12): synthetic CDA in IHE XDM packages, the INS test OID.
    DemoMessage(
        "20",
        KARIM,
        MARIE,
        "CR d'imagerie médicale LEGRAND Camille 12/03/1975",
        "Chère consœur,\n\nVeuillez trouver ci-joint le compte rendu d'imagerie de Mme "
        "Legrand.\n\nDr Karim Benali",
        hours_ago=30,
        documents="imaging",
    ),
    DemoMessage(
        "21",
        KARIM,
        MARIE,
        "CR d'examens biologiques LEGRAND Camille 12/03/1975",
        "Bonjour,\n\nRésultats du bilan biologique, avec leur copie PDF.\n\nLaboratoire du CH de C",
        hours_ago=26,
        documents="lab-pdf",
    ),
    DemoMessage(
        "22",
        KARIM,
        MARIE,
        "CR d'examens biologiques ROBERT Paul 04/07/1962",
        "Bonjour,\n\nRésultats du bilan biologique de M. Robert.\n\nLaboratoire du CH de C",
        hours_ago=25,
        documents="lab",
    ),
    DemoMessage(
        "23",
        KARIM,
        MARIE,
        "Lettre de liaison à la sortie ROBERT Paul 04/07/1962",
        "Chère consœur,\n\nM. Robert est sorti ce jour ; sa lettre de liaison est jointe.\n\n"
        "Dr Karim Benali",
        hours_ago=24,
        documents="discharge",
    ),
    DemoMessage(
        "24",
        KARIM,
        MARIE,
        "2 documents LEGRAND Camille 12/03/1975",
        "Bonjour,\n\nLe compte rendu d'imagerie et le bilan biologique de Mme Legrand.\n\n"
        "Dr Karim Benali",
        hours_ago=23,
        documents="two",
    ),
    DemoMessage(
        "25",
        PATIENT,
        MARIE,
        "Question sur mon traitement",
        "Bonjour Docteur,\n\nJe voudrais savoir si je peux prendre du paracétamol avec mon "
        "traitement actuel.\n\nMerci,\nCamille Martin",
        hours_ago=1.5,
    ),
)


def build(message: DemoMessage, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = message.sender
    msg["To"] = message.to
    msg["Subject"] = ("XDM/1.0/DDM+" if message.documents else "") + message.subject
    msg["Date"] = format_datetime(now - timedelta(hours=message.hours_ago))
    msg["Message-ID"] = message.message_id
    msg.set_content(message.text)
    if message.html:
        msg.add_alternative(message.html, subtype="html")
    if message.pdf_name:
        msg.add_attachment(
            tiny_pdf(message.pdf_lines),
            maintype="application",
            subtype="pdf",
            filename=message.pdf_name,
        )
    if message.documents:
        health.attach(msg, message.documents)
    return msg


def address_of(mailbox: str) -> str:
    return mailbox.rsplit("<", 1)[1].rstrip(">")


def deliver(messages: tuple[DemoMessage, ...], host: str, port: int, now: datetime) -> None:
    """Hand the messages to the operator's MX, oldest first, in one SMTP session."""
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        for message in sorted(messages, key=lambda m: -m.hours_ago):
            smtp.send_message(
                build(message, now),
                from_addr=address_of(message.sender),
                to_addrs=[address_of(message.to)],
            )
