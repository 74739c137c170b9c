"""The load bench's peer: the same child survey as a plain python-telegram-bot application.

Usage: python bench/survey_peer.py --port P --api-url URL --token T --secret S --data FILE
                                   [--concurrent-updates]

A `ConversationHandler` (persistent, in a `PicklePersistence` file) with a /start entry, a
consent question (yes/no), a greeting and the eight 0-10 items (four about how the child is
doing, four about the session), a free-text question with a skip button, then thanks: the
same messages and buttons Stemme sends a 12-year-old. Each tap is answered
(answerCallbackQuery) and the next question sent: two Bot API calls, as a typical bot does.
It runs behind `run_webhook` (tornado) with PTB's defaults (256 HTTP connections to the Bot
API, updates handled one at a time, persistence flushed every 60 s and at shutdown) unless
--concurrent-updates is given. It imports nothing of Stemme.
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning

CONSENT = "Hej! Vi vil gerne høre, hvordan du har det, og hvad du synes om jeres møder. " \
          "Må vi sende dig et par små spørgsmål efter møderne? Du kan altid skrive STOP."
GREETING = "Tak! Her kommer et par små spørgsmål om, hvordan du har det. Der er ingen " \
           "rigtige eller forkerte svar."
ITEMS = [
    ("me", "Tænk på den sidste uge.\nHvordan har du det med dig selv?\n"
           "0 = rigtig dårligt, 10 = rigtig godt"),
    ("family", "Hvordan går det derhjemme og med din familie?\n"
               "0 = rigtig dårligt, 10 = rigtig godt"),
    ("school", "Hvordan går det i skolen og med dine venner?\n"
               "0 = rigtig dårligt, 10 = rigtig godt"),
    ("overall", "Hvordan går det med det hele?\n0 = rigtig dårligt, 10 = rigtig godt"),
    ("heard", "Nu lidt om jeres seneste møde.\nLyttede de voksne til dig til mødet?\n"
              "0 = slet ikke, 10 = helt"),
    ("topics", "Snakkede I om det, du gerne ville snakke om?\n0 = slet ikke, 10 = helt"),
    ("approach", "Kunne du lide den måde, I snakkede og lavede ting på?\n"
                 "0 = slet ikke, 10 = helt"),
    ("session", "Hvordan var mødet?\n0 = rigtig dårligt, 10 = rigtig godt"),
]
FEEDBACK = "Er der noget, der kunne gøre næste møde endnu bedre? Skriv det gerne."
THANKS = "Tak fordi du svarede! Dine svar hjælper de voksne med at gøre det bedre for dig."
GOODBYE = "Det er helt i orden. Du hører ikke mere fra os."
HELP = InlineKeyboardButton("Jeg har brug for at tale med en voksen", callback_data="unsafe")
ASKING_CONSENT, ASKING_FEEDBACK = len(ITEMS), len(ITEMS) + 1  # states 0..7: the items

SCALE = InlineKeyboardMarkup([
    [InlineKeyboardButton(str(v), callback_data=f"v:{v}") for v in range(6)],
    [InlineKeyboardButton(str(v), callback_data=f"v:{v}") for v in range(6, 11)],
    [HELP]])
YES_NO = InlineKeyboardMarkup([[InlineKeyboardButton("Ja", callback_data="yes"),
                                InlineKeyboardButton("Nej", callback_data="no")], [HELP]])
SKIP = InlineKeyboardMarkup([[InlineKeyboardButton("Spring over", callback_data="skip")],
                             [HELP]])


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.effective_chat is not None
    context.user_data.clear()  # type: ignore[union-attr]
    await context.bot.send_message(update.effective_chat.id, CONSENT, reply_markup=YES_NO)
    return ASKING_CONSENT


async def consent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    chat = update.effective_chat.id
    if query.data != "yes":
        await context.bot.send_message(chat, GOODBYE)
        return ConversationHandler.END
    context.user_data["consent"] = True  # type: ignore[index]
    await context.bot.send_message(chat, GREETING)
    await context.bot.send_message(chat, ITEMS[0][1], reply_markup=SCALE)
    return 0


def rate(index: int) -> Any:
    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        query = update.callback_query
        assert query is not None and query.data and update.effective_chat is not None
        await query.answer()
        answers = context.user_data.setdefault("answers", {})  # type: ignore[union-attr]
        answers[ITEMS[index][0]] = int(query.data.removeprefix("v:"))
        chat = update.effective_chat.id
        if index + 1 < len(ITEMS):
            await context.bot.send_message(chat, ITEMS[index + 1][1], reply_markup=SCALE)
            return index + 1
        await context.bot.send_message(chat, FEEDBACK, reply_markup=SKIP)
        return ASKING_FEEDBACK
    return handler


async def feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.effective_chat is not None
    if update.callback_query is not None:
        await update.callback_query.answer()
    elif update.message is not None and update.message.text:
        context.user_data["feedback"] = update.message.text  # type: ignore[index]
    await context.bot.send_message(update.effective_chat.id, THANKS)
    return ConversationHandler.END


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, GOODBYE)
    return ConversationHandler.END


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True, help="the Bot API, without /bot")
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--data", required=True, help="the PicklePersistence file")
    parser.add_argument("--concurrent-updates", action="store_true")
    args = parser.parse_args()
    # "per_message=False: CallbackQueryHandler not tracked per message": what is wanted here.
    warnings.filterwarnings("ignore", category=PTBUserWarning)
    builder = (ApplicationBuilder().token(args.token).base_url(f"{args.api_url}/bot")
               .base_file_url(f"{args.api_url}/file/bot")
               .persistence(PicklePersistence(args.data)))
    if args.concurrent_updates:
        builder = builder.concurrent_updates(True)
    app = builder.build()
    states: dict[object, list[Any]] = {
        ASKING_CONSENT: [CallbackQueryHandler(consent, pattern="^(yes|no)$")],
        ASKING_FEEDBACK: [CallbackQueryHandler(feedback, pattern="^skip$"),
                          MessageHandler(filters.TEXT & ~filters.COMMAND, feedback)],
    }
    for index in range(len(ITEMS)):
        states[index] = [CallbackQueryHandler(rate(index), pattern=r"^v:(10|\d)$")]
    app.add_handler(ConversationHandler(
        entry_points=[CommandHandler("start", start)], states=states,  # type: ignore[arg-type]
        fallbacks=[CommandHandler("stop", stop)], name="survey", persistent=True))
    app.run_webhook(listen="127.0.0.1", port=args.port, url_path="webhooks/telegram",
                    secret_token=args.secret,
                    webhook_url=f"http://127.0.0.1:{args.port}/webhooks/telegram")


if __name__ == "__main__":
    main()
