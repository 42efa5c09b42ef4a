// Server errors in the UI's language: the error `code` (and `field`), then the known
// server messages, are mapped to Russian and English texts; a raw English server message is
// never shown in the Russian UI. Unknown codes give a generic sentence in the UI's language
// with the field's name translated («Рабочее время → Праздничные дни №1»).
import { t, getLang } from "./i18n.js";

/* prettier-ignore */
const TEXTS = {
  "code.network": ["Сервер недоступен. Проверьте соединение.", "The server cannot be reached. Check the connection."],
  "code.unauthorized": ["Сессия истекла, войдите снова", "Your session has expired, please sign in again"],
  "code.forbidden": ["Недостаточно прав для этого действия", "You are not allowed to do this"],
  "code.csrf": ["Запрос отклонён из соображений безопасности — обновите страницу", "The request was refused for security reasons — reload the page"],
  "code.not_found": ["Не найдено — возможно, объект уже удалён", "Not found — it may have been deleted"],
  "code.conflict": ["Действие невозможно в текущем состоянии", "This cannot be done in the current state"],
  "code.payload_too_large": ["Слишком большой объём данных", "Too much data"],
  "code.unsupported_media_type": ["Сервер ожидает данные в формате JSON", "The server expects JSON"],
  "code.rate_limited": ["Слишком много попыток, попробуйте через {n} с", "Too many attempts, try again in {n} s"],
  "code.rate_limited_plain": ["Слишком много попыток, попробуйте через минуту", "Too many attempts, try again in a minute"],
  "code.internal": ["Ошибка на сервере. Попробуйте ещё раз; если повторяется — сообщите администратору.", "A server error. Try again; if it repeats, tell your administrator."],
  "code.bad_request": ["Некорректный запрос", "Malformed request"],
  "code.outside_24h_window": ["Окно 24 часа закрыто: клиент писал более суток назад", "The 24-hour window is closed: the client wrote more than a day ago"],
  "code.text_too_long": ["Текст с подписью длиннее 4096 символов — сократите его", "The text with its signature is longer than 4096 characters — shorten it"],
  "code.wrong_password": ["Текущий пароль указан неверно", "The current password is wrong"],
  "code.validation_failed": ["Недопустимое значение", "Invalid value"],
  "code.unknown": ["Что-то пошло не так", "Something went wrong"],
  "code.file_too_large": ["Файл слишком большой для WhatsApp", "The file is too big for WhatsApp"],
  "code.file_too_large_limit": ["Файл слишком большой для WhatsApp: не больше {limit}", "The file is too big for WhatsApp: at most {limit}"],
  "code.unsupported_file_type": ["WhatsApp не принимает файлы этого типа", "WhatsApp does not take files of this type"],
  "code.unknown_template": ["Такого одобренного шаблона нет — обновите список шаблонов", "There is no such approved template — refresh the template list"],
  "code.waba_id_missing": ["У канала не указан WhatsApp Business Account ID — администратор задаёт его на странице канала", "The channel has no WhatsApp Business Account ID — an administrator sets it on the channel's page"],
  "code.provider_error": ["WhatsApp не ответил или ответил ошибкой — попробуйте ещё раз позже", "WhatsApp did not answer or answered with an error — try again later"],
  "code.write_first_disabled": ["В этом канале нельзя писать клиентам первыми — администратор включает это на странице канала", "Messaging new clients first is off for this channel — an administrator turns it on on the channel's page"],
  "code.media_not_ready": ["Файл ещё не загружен", "The file is not downloaded yet"],
  "code.outside_24h_window_template": ["Окно 24 часа закрыто или клиент ещё не писал: отправьте шаблон WhatsApp", "The 24-hour window is closed or the client never wrote: send a WhatsApp template"],
  "rule_n": ["Правило №{n}", "Rule #{n}"],
  "generic.field": ["Недопустимое значение поля «{field}»", "Invalid value of “{field}”"],
  "with_field": ["{field}: {text}", "{field}: {text}"],

  "msg.bool": ["Должно быть «да» или «нет»", "Must be true or false"],
  "msg.lang_ru_en": ["Русский или английский", "Russian or English"],
  "msg.required": ["Обязательное поле", "Required"],
  "msg.required_with_current": ["Введите новый пароль", "Enter the new password"],
  "msg.current_required": ["Введите текущий пароль", "Enter your current password"],
  "msg.password_length": ["От 8 до 1024 символов", "8 to 1024 characters"],
  "msg.does_not_match": ["Не совпадает", "Does not match"],
  "msg.length": ["Длина: от 1 до {max} символов", "Length: 1 to {max} characters"],
  "msg.length_got": ["Длина: от 1 до {max} символов (сейчас {n})", "Length: 1 to {max} characters (now {n})"],
  "msg.at_most": ["Не длиннее {max} символов", "At most {max} characters"],
  "msg.control": ["Недопустимые управляющие символы", "Control characters are not allowed"],
  "msg.telegram": ["До 64 символов, без пробелов (число или @имя)", "Up to 64 characters, no spaces (a number or @name)"],
  "msg.unknown_variable": ["Неизвестная переменная {name}", "Unknown variable {name}"],
  "msg.unclosed": ["Незакрытая фигурная скобка «{» — закройте её «}» (или напишите «{{» для самой скобки)", "An unclosed brace “{” — close it with “}” (or write “{{” for a brace)"],
  "msg.needs_text": ["Формат должен содержать {text}", "The format must contain {text}"],
  "msg.delay_range": ["От 1 секунды до 7 дней", "From 1 second to 7 days"],
  "msg.no_employee": ["Нет такого сотрудника", "No such employee"],
  "msg.no_employee_id": ["Нет сотрудника с id {id}", "No employee with id {id}"],
  "msg.no_active_employee": ["Сотрудник не найден или деактивирован", "No such active employee"],
  "msg.no_channel": ["Нет такого канала", "No such channel"],
  "msg.no_channel_id": ["Нет канала с id {id}", "No channel with id {id}"],
  "msg.no_group": ["Нет такой группы", "No such group"],
  "msg.no_group_id": ["Нет группы с id {id}", "No group with id {id}"],
  "msg.timezone": ["Неизвестный часовой пояс «{name}»", "Unknown time zone “{name}”"],
  "msg.date": ["Дата в формате ДД.ММ.ГГГГ", "A date as DD.MM.YYYY"],
  "msg.hours_range": ["Интервал в формате ЧЧ:ММ-ЧЧ:ММ, начало раньше конца", "A range as HH:MM-HH:MM, the start before the end"],
  "msg.hours_overlap": ["Интервалы пересекаются", "The ranges overlap"],
  "msg.time": ["Время в формате ЧЧ:ММ", "A time as HH:MM"],
  "msg.email": ["Нужен адрес электронной почты", "Must be an e-mail address"],
  "msg.email_taken": ["Сотрудник с такой электронной почтой уже есть", "An employee with this e-mail exists"],
  "msg.language_code": ["Код языка, например ru или en_US", "A language code such as ru or en_US"],
  "msg.url": ["Нужен адрес http(s)", "Must be an http(s) URL"],
  "msg.graph_version": ["Версия Graph API, например v21.0", "A Graph API version such as v21.0"],
  "msg.one_target": ["Выберите одного сотрудника или одну группу", "Choose one employee or one group"],
  "msg.max_rules": ["Не более {n} правил", "At most {n} rules"],
  "msg.keyword_length": ["Каждое ключевое слово — не длиннее {max} символов", "Each keyword must be at most {max} characters"],
  "msg.keywords_count": ["Укажите от 1 до {max} ключевых слов", "Enter 1 to {max} keywords"],
  "msg.group_exists": ["Группа «{name}» уже есть", "A group named “{name}” already exists"],
  "msg.group_exists_plain": ["Группа с таким названием уже есть", "A group with this name already exists"],
  "msg.group_in_use_n": ["Группу нельзя удалить: на неё направляет правило маршрутизации №{n}. Сначала измените или удалите это правило.", "The group cannot be deleted: routing rule #{n} targets it. Change or delete that rule first."],
  "msg.group_in_use": ["Группу нельзя удалить: на неё направляет правило маршрутизации", "The group cannot be deleted: a routing rule targets it"],
  "msg.routing_mode": ["Вручную, по очереди или к прежнему сотруднику", "Manual, round robin or sticky"],
  "msg.role": ["Администратор, руководитель или сотрудник", "Administrator, manager or employee"],
  "msg.manager_cycle": ["Так руководители замкнутся в круг — выберите другого", "The manager chain would form a cycle — choose someone else"],
  "msg.manager_chain_long": ["Слишком длинная цепочка руководителей", "The manager chain is too long"],
  "msg.last_admin": ["Последний администратор должен остаться администратором", "The last active admin must stay an admin"],
  "msg.deactivate_self": ["Нельзя деактивировать самого себя", "You cannot deactivate yourself"],
  "msg.not_open": ["Чат уже завершён", "The chat is not open"],
  "msg.already_open": ["С этим клиентом уже есть открытый чат", "A chat with this client is already open"],
  "msg.phone": ["Номер телефона: от 1 до 20 цифр, можно с + в начале", "A phone number: 1 to 20 digits, optionally after a +"],
  "msg.assignee_member": ["Ответственный должен работать в очереди этого канала (или быть руководителем или администратором)", "The assignee must be in the channel's queue (or be a manager or an admin)"],
  "msg.channel_member": ["Открывать чаты в канале могут только сотрудники его очереди", "Only the channel's queue may open chats on it"],
  "msg.channel_kind": ["Поддерживается только WhatsApp", "Only WhatsApp is supported"],
  "msg.whatsapp_required": ["Укажите данные подключения WhatsApp", "Enter the WhatsApp connection details"],
  "msg.not_an_id": ["Неверный идентификатор", "Not an id"],
  "msg.invalid_type": ["Неверный тип значения", "Wrong type of value"],
  "msg.unknown_field": ["Неизвестное поле", "Unknown field"],
  "msg.secret_length": ["От 8 до 512 символов", "8 to 512 characters"],
  "msg.events": ["Выберите хотя бы одно событие", "Choose at least one event"],
  "msg.quiet_hours": ["Тихие часы: начало, конец и часовой пояс", "Quiet hours: start, end and time zone"],
  "msg.labels_count": ["Не более {n} меток", "At most {n} labels"],
  "msg.integer_range": ["Целое число от 1 до {max}", "A whole number from 1 to {max}"],
  "msg.cursor": ["Список изменился — обновите страницу", "The list has changed — reload the page"],
  "msg.no_message": ["В этом чате нет такого сообщения", "No such message in this chat"],
  "msg.shared_quick_replies": ["Общие шаблоны меняют только администраторы и руководители", "Only administrators and managers may change shared quick replies"],
  "msg.group_nobody": ["В группе нет сотрудника, которому можно передать этот чат", "Nobody in the group may be assigned this chat"],
  "msg.admin_only": ["Только для администраторов", "Administrators only"],
  "msg.not_your_conversation": ["Вы не можете действовать в этом чате", "You may not act on this conversation"],
  "msg.param_text": ["От 1 до {max} символов, без переводов строки и табуляции", "1 to {max} characters, no line breaks or tabs"],
  "msg.no_newlines": ["Без переводов строки и табуляции", "No line breaks or tabs"],
  "msg.parameters_count": ["Нужно параметров: {n}", "Parameters needed: {n}"],
  "msg.e164": ["Номер в международном формате: 8–15 цифр, например +7 916 123-45-67", "A number in international format: 8 to 15 digits, e.g. +7 916 123-45-67"],
  "msg.caption_long": ["Подпись к файлу — не длиннее 1024 символов", "A file caption is at most 1024 characters"],
  "msg.text_or_template": ["Либо текст, либо шаблон", "Either a text or a template"],
  "msg.file_required": ["Выберите файл", "Choose a file"],
  "msg.observer": ["Наблюдатель не может завершить или передать чат", "An observer may not close or transfer the chat"],
};

/* prettier-ignore */
const FIELDS = {
  greeting: ["Приветствие", "Greeting"],
  no_reply: ["Если сотрудники не отвечают", "If employees don't answer"],
  closing: ["Завершение чата", "Chat completion"],
  notify_manager_first: ["Первое сообщение клиента", "The client's first message"],
  notify_manager_next: ["Последующие сообщения клиента", "The client's subsequent messages"],
  sign_outgoing: ["Имя сотрудника", "Employee name"],
  working_hours: ["Рабочее время", "Working hours"],
  out_of_hours: ["Сообщение в нерабочее время", "Out-of-hours message"],
  auto_close: ["Автозакрытие", "Auto-close"],
  reopen: ["Повторное открытие", "Reopening"],
  supervisors: ["Ответственные за канал", "Channel supervisors"],
  enabled: ["Включено", "On"],
  text: ["Текст", "Text"],
  after_seconds: ["Задержка", "Delay"],
  escalate_after_seconds: ["Эскалация через", "Escalate after"],
  within_seconds: ["В течение", "Within"],
  manager_ids: ["Руководитель", "Manager"],
  template: ["Шаблон WhatsApp", "WhatsApp template"],
  format: ["Формат подписи", "Signature format"],
  mode: ["Когда подписывать", "When to sign"],
  timezone: ["Часовой пояс", "Time zone"],
  week: ["Рабочие часы по дням", "Hours per weekday"],
  holidays: ["Праздничные дни", "Holidays"],
  count_working_time_only: ["Считать задержки только в рабочее время", "Count delays in working time only"],
  on_auto_close: ["Отправлять и при автозакрытии", "Also on auto-close"],
  mon: ["Понедельник", "Monday"], tue: ["Вторник", "Tuesday"], wed: ["Среда", "Wednesday"], thu: ["Четверг", "Thursday"],
  fri: ["Пятница", "Friday"], sat: ["Суббота", "Saturday"], sun: ["Воскресенье", "Sunday"],
  name: ["Название", "Name"],
  language: ["Язык", "Language"],
  email: ["Электронная почта", "E-mail"],
  password: ["Пароль", "Password"],
  current_password: ["Текущий пароль", "Current password"],
  display_name: ["Отображаемое имя", "Display name"],
  role: ["Роль", "Role"],
  manager_id: ["Руководитель", "Manager"],
  telegram_chat_id: ["Chat id Telegram", "Telegram chat id"],
  telegram: ["Telegram", "Telegram"],
  channel_ids: ["Каналы", "Channels"],
  employee_ids: ["Сотрудники", "Employees"],
  whatsapp: ["WhatsApp", "WhatsApp"],
  phone_number_id: ["Phone number ID", "Phone number ID"],
  access_token: ["Токен доступа", "Access token"],
  app_secret: ["Секрет приложения", "App secret"],
  verify_token: ["Токен подтверждения", "Verify token"],
  api_base_url: ["Адрес Graph API", "Graph API base URL"],
  api_version: ["Версия Graph API", "Graph API version"],
  routing: ["Режим распределения", "Routing mode"],
  kind: ["Тип канала", "Channel type"],
  rules: ["Правила", "Rules"],
  keywords: ["Ключевые слова", "Keywords"],
  channel_id: ["Учётная запись", "Account"],
  employee_id: ["Сотрудник", "Employee"],
  group_id: ["Группа", "Group"],
  labels: ["Метки", "Labels"],
  note: ["Заметка", "Note"],
  q: ["Поиск", "Search"],
  title: ["Название", "Title"],
  shared: ["Общий", "Shared"],
  quiet_hours: ["Тихие часы", "Quiet hours"],
  start: ["Начало", "Start"],
  end: ["Конец", "End"],
  alert_sound: ["Звуковой сигнал", "Sound"],
  alert_desktop: ["Уведомление на рабочем столе", "Desktop notification"],
  alert_title: ["Счётчик в заголовке вкладки", "Count in the tab title"],
  online: ["В сети", "Online"],
  contact_address: ["Адрес клиента", "Client address"],
  url: ["Адрес", "URL"],
  secret: ["Секрет", "Secret"],
  events: ["События", "Events"],
  label: ["Название", "Label"],
  comment: ["Комментарий", "Comment"],
  mentions: ["Упоминания", "Mentions"],
  message_id: ["Сообщение", "Message"],
  status: ["Статус", "Status"],
  scope: ["Фильтр", "Filter"],
  limit: ["Количество", "Limit"],
  before: ["Страница", "Page"],
  unread: ["Непрочитанные", "Unread"],
  active: ["Активен", "Active"],
  settings: ["Настройки", "Settings"],
  file: ["Файл", "File"],
  parameters: ["Параметр", "Parameter"],
  waba_id: ["WhatsApp Business Account ID", "WhatsApp Business Account ID"],
  messages_per_second: ["Сообщений в секунду", "Messages per second"],
  allow_write_first: ["Писать клиентам первыми", "Message new clients first"],
};

function tr(key, params) {
  const entry = TEXTS[key];
  const text = entry ? entry[getLang() === "en" ? 1 : 0] : key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m));
}

/**
 * A field path as the UI names it, in the UI's language: `working_hours.holidays[0]` →
 * «Рабочее время → Праздничные дни №1». Unknown segments stay as they are.
 */
export function fieldLabel(path) {
  const en = getLang() === "en";
  const parts = [];
  for (const seg of String(path || "").split(".").filter(Boolean)) {
    const m = seg.match(/^([^[]*)((?:\[\d+\])*)$/);
    const name = m ? m[1] : seg;
    const idx = m ? [...m[2].matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]) + 1) : [];
    // a path that starts with an index is a routing rule (`[2].keywords`, PUT /routing-rules)
    if (!name && !parts.length && idx.length) {
      parts.push(tr("rule_n", { n: idx[0] }));
      continue;
    }
    const label = FIELDS[name] ? FIELDS[name][en ? 1 : 0] : name;
    const suffix = idx.map((i) => (en ? ` #${i}` : ` №${i}`)).join("");
    if (label || suffix) parts.push(`${label}${suffix}`.trim());
  }
  return parts.join(" → ");
}

/** Server validation messages (English) and the text that says the same. First match wins. */
const MESSAGES = [
  [/^must be true or false/, () => tr("msg.bool")],
  [/^must be "ru" or "en"/, () => tr("msg.lang_ru_en")],
  [/^is required with current_password/, () => tr("msg.required_with_current")],
  [/^is required to change the password/, () => tr("msg.current_required")],
  [/^must be 8 to 1024 characters/, () => tr("msg.password_length")],
  [/^does not match/, () => tr("msg.does_not_match")],
  [/^unknown variable \{([^}]*)\}/, (m) => tr("msg.unknown_variable", { name: `{${m[1]}}` })],
  [/^unclosed \{/, () => tr("msg.unclosed")],
  [/^must be 1 to (\d+) characters without newlines/, (m) => tr("msg.param_text", { max: m[1] })],
  [/E\.164|international format/, () => tr("msg.e164")],
  [/^must be 1 to (\d+) characters without spaces/, () => tr("msg.telegram")],
  [/^must be 1 to (\d+) characters, got (\d+)/, (m) => tr("msg.length_got", { max: m[1], n: m[2] })],
  [/^must be 1 to (\d+) characters/, (m) => tr("msg.length", { max: m[1] })],
  [/^must be at most (\d+) characters/, (m) => tr("msg.at_most", { max: m[1] })],
  [/^must not contain (?:the )?control character/, () => tr("msg.control")],
  [/^must be from 1 second to 7 days/, () => tr("msg.delay_range")],
  [/^(?:no employee with id|no such employee)\s*"?([^"]*)"?/, (m) => (m[1] ? tr("msg.no_employee_id", { id: m[1] }) : tr("msg.no_employee"))],
  [/^no such active employee/, () => tr("msg.no_active_employee")],
  [/^(?:no such channel|unknown channel|no channel with id)\s*"?([^"]*)"?/, (m) => (m[1] ? tr("msg.no_channel_id", { id: m[1] }) : tr("msg.no_channel"))],
  [/^(?:no such group|unknown group|no group with id)\s*"?([^"]*)"?/, (m) => (m[1] ? tr("msg.no_group_id", { id: m[1] }) : tr("msg.no_group"))],
  [/^must contain \{text\}/, () => tr("msg.needs_text")],
  [/^unknown IANA time zone "?([^"]*)"?/, (m) => tr("msg.timezone", { name: m[1] })],
  [/^expected a date YYYY-MM-DD/, () => tr("msg.date")],
  [/^expected HH:MM-HH:MM/, () => tr("msg.hours_range")],
  [/overlaps another range/, () => tr("msg.hours_overlap")],
  [/expected a local time HH:MM/, () => tr("msg.time")],
  [/HH:MM|invalid time|time zone/, () => tr("msg.quiet_hours")],
  [/^must be an e-mail address/, () => tr("msg.email")],
  [/^an employee with this e-mail exists/, () => tr("msg.email_taken")],
  [/^must be a language code/, () => tr("msg.language_code")],
  [/^must be an http/, () => tr("msg.url")],
  [/^must be a Graph API version/, () => tr("msg.graph_version")],
  [/^must not be empty|^is required|^required/, () => tr("msg.required")],
  [/exactly one (?:of|target)/, () => tr("msg.one_target")],
  [/^at most (\d+) rules/, (m) => tr("msg.max_rules", { n: m[1] })],
  [/^each keyword must be at most (\d+) characters/, (m) => tr("msg.keyword_length", { max: m[1] })],
  [/^name 1 to (\d+) keywords/, (m) => tr("msg.keywords_count", { max: m[1] })],
  [/^a group named "?(.*?)"? already exists/, (m) => tr("msg.group_exists", { name: m[1] })],
  [/^a group with this name already exists/, () => tr("msg.group_exists_plain")],
  [/^routing rule (\d+) sends chats to this group/, (m) => tr("msg.group_in_use_n", { n: m[1] })],
  [/routing rule/, () => tr("msg.group_in_use")],
  [/^must be manual, round_robin or sticky/, () => tr("msg.routing_mode")],
  [/^must be admin, manager or employee/, () => tr("msg.role")],
  [/manager chain would form a cycle/, () => tr("msg.manager_cycle")],
  [/manager chain is too long/, () => tr("msg.manager_chain_long")],
  [/last active admin/, () => tr("msg.last_admin")],
  [/cannot deactivate yourself/, () => tr("msg.deactivate_self")],
  [/conversation is not open/, () => tr("msg.not_open")],
  [/already open/, () => tr("msg.already_open")],
  [/^must be a phone number/, () => tr("msg.phone")],
  [/assignee must be a member of the channel/, () => tr("msg.assignee_member")],
  [/only members of the channel may open/, () => tr("msg.channel_member")],
  [/^unsupported channel kind/, () => tr("msg.channel_kind")],
  [/^required for kind whatsapp/, () => tr("msg.whatsapp_required")],
  [/not an id/, () => tr("msg.not_an_id")],
  [/^invalid type|^invalid value|^expected (?:a |an )?(?:boolean|string|integer|u64|i64|map|sequence|object|array)/, () => tr("msg.invalid_type")],
  [/^unknown field/, () => tr("msg.unknown_field")],
  [/^must be 8 to 512 characters/, () => tr("msg.secret_length")],
  [/^name at least one event|^unknown event/, () => tr("msg.events")],
  [/^at most (\d+) labels/, (m) => tr("msg.labels_count", { n: m[1] })],
  [/^must be an integer from 1 to (\d+)|^expected 1 to (\d+)/, (m) => tr("msg.integer_range", { max: m[1] || m[2] })],
  [/X-Next-Cursor/, () => tr("msg.cursor")],
  [/^give either employee_id or group_id/, () => tr("msg.one_target")],
  [/^no such message in this conversation/, () => tr("msg.no_message")],
  [/shared? quick replies/, () => tr("msg.shared_quick_replies")],
  [/no member of the group may be assigned/, () => tr("msg.group_nobody")],
  [/^must be \{"start","end","timezone"\} or null/, () => tr("msg.quiet_hours")],
  [/only admins may/, () => tr("msg.admin_only")],
  [/may not act on this conversation/, () => tr("msg.not_your_conversation")],
  [/caption may be at most|caption (?:is )?(?:longer|over)/, () => tr("msg.caption_long")],
  [/newline|line break|tabs?\b/, () => tr("msg.no_newlines")],
  [/expected (\d+) parameters?|needs (\d+) parameters?|takes (\d+) parameters?/, (m) => tr("msg.parameters_count", { n: m[1] || m[2] || m[3] })],
  [/^either text or template|text (?:and|together with|or) template|not both/, () => tr("msg.text_or_template")],
  [/^a file part is required|^no file|file is required/, () => tr("msg.file_required")],
  [/observer/, () => tr("msg.observer")],
];

/** Field-based sentences for messages the table does not know (by the path's last name). */
const FIELD_FALLBACK = {
  keywords: () => t("server.keywords"),
  employee_id: () => tr("msg.one_target"),
  group_id: () => tr("msg.one_target"),
  channel_id: () => tr("msg.no_channel"),
  employee_ids: () => tr("msg.no_employee"),
  manager_ids: () => tr("msg.no_employee"),
  supervisors: () => tr("msg.no_employee"),
  name: () => t("server.name"),
  holidays: () => tr("msg.date"),
  telegram_chat_id: () => tr("msg.telegram"),
  current_password: () => tr("code.wrong_password"),
};

/** The server's message without its "field: " prefix. */
function bareMessage(err) {
  const msg = String((err && err.message) || "");
  if (err && err.field && msg.startsWith(`${err.field}: `)) return msg.slice(err.field.length + 2);
  return msg;
}

function knownMessage(msg) {
  if (!msg) return "";
  for (const [re, make] of MESSAGES) {
    const m = msg.match(re);
    if (m) return make(m);
  }
  return "";
}

/** The translation of a known server message of `err`, or "" when the message is unknown. */
export function knownServerText(err) {
  return knownMessage(bareMessage(err));
}

/** Codes whose text does not depend on the message. */
function codeText(err) {
  const code = err.code || "";
  if (err.status === 0 || code === "network") return tr("code.network");
  if (code === "rate_limited" || err.status === 429) return err.retryAfter ? tr("code.rate_limited", { n: err.retryAfter }) : tr("code.rate_limited_plain");
  const byCode = {
    unauthorized: "code.unauthorized",
    csrf: "code.csrf",
    payload_too_large: "code.payload_too_large",
    unsupported_media_type: "code.unsupported_media_type",
    internal: "code.internal",
    outside_24h_window: "code.outside_24h_window",
    text_too_long: "code.text_too_long",
    wrong_password: "code.wrong_password",
    unsupported_file_type: "code.unsupported_file_type",
    unknown_template: "code.unknown_template",
    waba_id_missing: "code.waba_id_missing",
    provider_error: "code.provider_error",
    write_first_disabled: "code.write_first_disabled",
    media_not_ready: "code.media_not_ready",
  };
  if (code === "file_too_large") {
    const limit = String(err.message || "").match(/(\d+(?:[.,]\d+)?)\s*(KB|MB|GB|КБ|МБ)/i);
    return limit ? tr("code.file_too_large_limit", { limit: sizeUnit(limit[1], limit[2]) }) : tr("code.file_too_large");
  }
  if (code === "outside_24h_window" && /template/i.test(err.message || "")) return tr("code.outside_24h_window_template");
  if (byCode[code]) return tr(byCode[code]);
  if (err.status === 401) return tr("code.unauthorized");
  if (err.status === 413) return tr("code.payload_too_large");
  if (err.status >= 500) return tr("code.internal");
  return "";
}

/**
 * The text for an error shown at its field (the field itself is not named): the code's text, a
 * known server message translated; else (English UI) the server's own words; else a sentence
 * chosen by the field; else a generic one — always in the UI's language.
 */
export function fieldErrorText(err) {
  if (!err) return "";
  const byCode = codeText(err);
  if (byCode) return byCode;
  const msg = bareMessage(err);
  const known = knownMessage(msg);
  if (known) return known;
  if (getLang() === "en" && msg && /^[\x20-\x7e]+$/.test(msg)) return msg;
  const last = String(err.field || "")
    .replace(/\[\d+\]/g, "")
    .split(".")
    .filter(Boolean)
    .pop();
  if (last && FIELD_FALLBACK[last]) return FIELD_FALLBACK[last]();
  return tr("code.validation_failed");
}

/**
 * An error message for an ApiError in the UI's language, for status lines and banners: names
 * the field («Текущий пароль: …») when there is one.
 */
export function errorText(err) {
  if (!err) return "";
  const byCode = codeText(err);
  if (byCode) return byCode;
  const field = err.field ? fieldLabel(err.field) : "";
  const known = knownMessage(bareMessage(err));
  if (known) return field ? tr("with_field", { field, text: known }) : known;
  if (err.status === 403 || err.code === "forbidden") return tr("code.forbidden");
  if (err.status === 404 || err.code === "not_found") return tr("code.not_found");
  if (err.status === 409 || err.code === "conflict") return tr("code.conflict");
  if (field) {
    const text = fieldErrorText(err);
    return text === tr("code.validation_failed") ? tr("generic.field", { field }) : tr("with_field", { field, text });
  }
  if (err.status === 422 || err.code === "validation_failed") return tr("code.validation_failed");
  if (err.status === 400 || err.code === "bad_request") return tr("code.bad_request");
  return tr("code.unknown");
}

/** "5", "MB" → «5 МБ» / "5 MB". */
function sizeUnit(n, unit) {
  const en = getLang() === "en";
  const u = unit.toUpperCase();
  const ru = { KB: "КБ", MB: "МБ", GB: "ГБ", "КБ": "КБ", "МБ": "МБ" };
  return `${n} ${en ? u.replace("КБ", "KB").replace("МБ", "MB") : ru[u] || u}`;
}

/* prettier-ignore */
const GRAPH = {
  0: ["WhatsApp не принял токен доступа — администратору нужно заменить токен", "WhatsApp refused the access token — an administrator must replace it"],
  4: ["Слишком много запросов к WhatsApp от приложения — повтор позже", "Too many calls to WhatsApp from the app — retrying later"],
  10: ["У приложения нет разрешения на отправку — проверьте права в Meta", "The app lacks the permission to send — check its permissions at Meta"],
  100: ["WhatsApp отклонил параметры сообщения", "WhatsApp refused the message's parameters"],
  190: ["Токен доступа истёк или отозван — администратору нужно заменить токен", "The access token expired or was revoked — an administrator must replace it"],
  368: ["Аккаунт временно заблокирован за нарушение правил WhatsApp", "The account is temporarily blocked for a WhatsApp policy violation"],
  80007: ["Превышен лимит запросов аккаунта WhatsApp — повтор позже", "The WhatsApp account's rate limit was hit — retrying later"],
  130429: ["Превышен лимит отправки WhatsApp — повтор позже", "WhatsApp's sending rate limit was hit — retrying later"],
  130472: ["Номер клиента участвует в эксперименте Meta — сообщение не доставлено", "The client's number is part of a Meta experiment — not delivered"],
  131000: ["Сбой на стороне WhatsApp", "Something went wrong at WhatsApp"],
  131005: ["Нет доступа — проверьте права приложения в Meta", "Access denied — check the app's permissions at Meta"],
  131008: ["Не хватает обязательного параметра", "A required parameter is missing"],
  131009: ["Недопустимое значение параметра", "A parameter value is not valid"],
  131016: ["WhatsApp временно недоступен — повтор позже", "WhatsApp is temporarily unavailable — retrying later"],
  131021: ["Нельзя отправить сообщение самому себе", "The sender and the recipient are the same number"],
  131026: ["Сообщение не доставлено: у номера нет WhatsApp или клиент не принял условия", "Undeliverable: the number has no WhatsApp or the client has not accepted the terms"],
  131031: ["Аккаунт WhatsApp заблокирован", "The WhatsApp account is locked"],
  131042: ["Проблема с оплатой аккаунта WhatsApp Business", "A payment problem with the WhatsApp Business account"],
  131045: ["Номер телефона не зарегистрирован в WhatsApp Business", "The phone number is not registered"],
  131047: ["Окно 24 часа закрыто — нужен шаблон WhatsApp", "The 24-hour window is closed — a WhatsApp template is needed"],
  131048: ["Лимит из-за жалоб на спам — WhatsApp ограничил отправку", "Spam rate limit — WhatsApp restricted sending"],
  131049: ["WhatsApp не доставил сообщение, чтобы не перегружать клиента", "WhatsApp held the message back to keep the client's experience good"],
  131051: ["WhatsApp не поддерживает такой тип сообщения", "WhatsApp does not support this message type"],
  131052: ["Не удалось скачать файл клиента", "Could not download the client's file"],
  131053: ["WhatsApp не принял файл", "WhatsApp could not take the file"],
  131056: ["Слишком много сообщений этому клиенту подряд — повтор позже", "Too many messages to this client in a row — retrying later"],
  131057: ["Аккаунт WhatsApp на обслуживании", "The WhatsApp account is under maintenance"],
  132000: ["Число параметров не совпадает с шаблоном", "The number of parameters does not match the template"],
  132001: ["Шаблона нет (или нет на этом языке)", "The template does not exist (or not in this language)"],
  132005: ["Текст шаблона с параметрами слишком длинный", "The template's text with its parameters is too long"],
  132007: ["Шаблон нарушает правила WhatsApp", "The template breaks WhatsApp's policy"],
  132012: ["Параметры не подходят к формату шаблона", "The parameters do not fit the template's format"],
  132015: ["Шаблон приостановлен из-за низкого качества", "The template is paused for low quality"],
  132016: ["Шаблон отключён", "The template is disabled"],
  133010: ["Номер телефона не зарегистрирован в WhatsApp Cloud API", "The phone number is not registered with the Cloud API"],
};

/**
 * The provider's error of a message or channel (`"message (code N)"`, «delivery unknown», a
 * network failure) in the UI's language: the known Graph codes are explained; an unknown code
 * reads «Ошибка WhatsApp, код N».
 */
export function providerErrorText(raw) {
  const s = String(raw || "").trim();
  if (!s) return "";
  const en = getLang() === "en";
  const code = s.match(/\(code (\d+)\)|code[ =:]+(\d+)|#(\d+)/i);
  const n = code ? Number(code[1] || code[2] || code[3]) : null;
  if (n !== null && GRAPH[n]) return `${GRAPH[n][en ? 1 : 0]} (${en ? "code" : "код"} ${n})`;
  if (/delivery unknown/i.test(s)) return en ? "Delivery not confirmed" : "Доставка не подтверждена";
  if (/timed? ?out|timeout/i.test(s)) return en ? "WhatsApp did not answer in time" : "WhatsApp не ответил вовремя";
  if (/connect|network|dns|unreachable|refused/i.test(s)) return en ? "WhatsApp cannot be reached" : "Нет связи с WhatsApp";
  if (/token|unauthori[sz]ed|401/i.test(s)) return tr0("code.token");
  if (n !== null) return en ? `WhatsApp error: ${s}` : `Ошибка WhatsApp, код ${n}`;
  if (en && /^[\x20-\x7e]+$/.test(s)) return s;
  return en ? "WhatsApp error" : "Ошибка WhatsApp";
}

function tr0(key) {
  return key === "code.token"
    ? getLang() === "en"
      ? "WhatsApp refused the access token — an administrator must replace it"
      : "WhatsApp не принял токен доступа — администратору нужно заменить токен"
    : tr(key);
}
