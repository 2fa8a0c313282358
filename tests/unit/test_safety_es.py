"""The guards in Spanish: how patients write about an emergency in Spanish trips the
emergency guard (with or without accents, in capitals, with common typos, whatever the
patient's language); ordinary Spanish messages, near misses included, do not. A question
asking for a diagnosis goes to the care team; plan questions that sound alike do not."""

from __future__ import annotations

import re

import pytest

from assistant.domain.safety import is_diagnosis_question, is_red_flag, plain
from assistant.domain.safety_es import DIAGNOSIS, RED_FLAGS

EMERGENCIAS = [
    # pecho
    "dolor en el pecho",
    "tengo un dolor muy fuerte en el pecho",
    "dolor de pecho desde hace una hora",
    "me duele el pecho y estoy sudando",
    "me duele mucho el pecho",
    "siento una opresión en el pecho que baja al brazo izquierdo",
    "tengo como un peso en el pecho",
    "el pecho me aprieta mucho",
    "creo que me está dando un infarto",
    "mi padre tiene un ataque al corazón",
    "dolor en el pexo",  # typo
    "se le paró el corazón",
    # respiración y color
    "no puedo respirar",
    "NO PUEDO RESPIRAR",
    "nopuedo respirar bien",
    "no pueo respirar",
    "casi no puedo respirar",
    "apenas respiro",
    "el bebé no respira",
    "mi madre no puede respirar",
    "me falta el aire incluso sentado",
    "me falta mucho el aire",
    "no me entra aire",
    "no respiro",
    "no puedo respiar",
    "me ahogo",
    "me estoy ahogando",
    "me cuesta mucho respirar",
    "tengo dificultad para respirar",
    "respiro con mucha dificultad",
    "el niño se atragantó con algo",
    "mi abuelo dejó de respirar",
    "tiene los labios morados",
    "se está poniendo azul",
    # sangrado
    "estoy tosiendo sangre",
    "vomité sangre esta mañana",
    "escupo sangre al toser",
    "la herida no para de sangrar",
    "el sangrado no para desde hace una hora",
    "está sangrando mucho",
    "tengo una hemorragia",
    "hay sangre en el vómito",
    "tengo un sangrado muy abundante",
    "se está desangrando",
    "hay mucha sangre",
    "estoy perdiendo mucha sangre",
    # cabeza
    "el peor dolor de cabeza de mi vida",
    "me dio de repente un dolor de cabeza terrible",
    "dolor de cabeza repentino y muy fuerte",
    "un dolor de cabeza como un trueno",
    # alergia, vía aérea
    "se me cierra la garganta",
    "se me hincha la garganta",
    "siento que la garganta se me está cerrando después del antibiótico",
    "se me está hinchando la lengua",
    "tengo la cara y los labios hinchados después de la pastilla",
    "creo que tengo una reacción alérgica grave",
    "anafilaxia",
    "tuvo una fuerte reacción alérgica",
    # ictus
    "no puedo mover el brazo",
    "no me siento el brazo izquierdo",
    "no puedo mover la pierna izquierda",
    "se me durmió la cara",
    "tiene la boca torcida",
    "mi mamá no puede hablar bien de repente",
    "no puedo hablar bien",
    "arrastra las palabras",
    "tengo el brazo derecho dormido y sin fuerza",
    "creo que mi esposo tiene un ictus",
    "le está dando un derrame cerebral",
    "creo que es una embolia",
    "tuvo un accidente cerebrovascular",
    "tiene la cara torcida",
    "no siento la mitad de la cara",
    "se le quedó dormido el brazo de repente",
    "mi padre habla enredado de repente",
    "hablo raro de repente",
    "de repente habla mal",
    "se me tuerce la boca",
    "se me durmió medio cuerpo de golpe",
    "creo que me da un derrame",
    "no le salen las palabras",
    "de repente se le traba la lengua",
    # conciencia, convulsiones
    "me desmayé en el baño",
    "me desvanecí",
    "perdió el conocimiento",
    "no responde",
    "no se despierta",
    "perdí la consciencia",
    "está inconsciente",
    "no logro despertarlo",
    "se desplomó en la cocina",
    "me caí y no me puedo levantar",
    "mi madre colapsó",
    "está convulsionando",
    "le dio un ataque epiléptico",
    # demasiada medicina
    "me tomé demasiadas pastillas",
    "me puse demasiada insulina",
    "mi hijo se comió mis pastillas",
    "se tomó toda la caja",
    "me tomé un frasco entero",
    "tomé 30 pastillas",
    "creo que tuve una sobredosis",
    "me equivoqué con la insulina, me puse demasiada",
    "se tomó todas las pastillas del bote",
    "me tomé todas las pastillas",
    "me tomé muchas pastillas de golpe",
    "mi hijo se tomó mis pastillas",
    "me inyecté insulina de más",
    "me puse de más de insulina",
    "me puse el doble de insulina por error",
    # autolesión, suicidio
    "me quiero morir",
    "quiero morirme",
    "kiero morir",
    "quiero suicidarme",
    "pienso en el suicidio",
    "quiero quitarme la vida",
    "me voy a quitar la vida",
    "no quiero vivir",
    "ya no quiero seguir viviendo",
    "no tengo razones para vivir",
    "me voy a matar",
    "quiero hacerme daño",
    "me estoy cortando otra vez",
    "quiero acabar con todo",
    "ayuda me estoy muriendo",
    "tengo ganas de morir",
    "ojalá estuviera muerta",
    "estaría mejor muerto",
    "pienso en matarme",
    "creo que me voy a morir",
    "no vale la pena vivir",
    "quiero lastimarme",
    "me voy a hacer daño",
    "ayuda, me muero",
    # pedir ayuda
    "llamen a una ambulancia",
    "EMERGENCIA",
    "es una emergencia",
    "socorro",
    "auxilio",
    "es una urgencia",
    "ayuda urgente",
    "llévenme a urgencias",
    "llame al 112",
    # azúcar muy baja con confusión
    "el azúcar está muy baja y está confundido",
    "el azúcar está en 30 y estoy temblando y confundido",
    "glucosa baja, 2.1, y mi padre no reacciona",
    "hipoglucemia grave",
    # corazón (como "heart attack" en inglés)
    "ataque cardiaco",
    "me duele el corazón",
    "el corazón me aprieta mucho",
    "me está dando algo en el corazón",
    # respiración
    "respiro muy mal",
    "no me llega el aire",
    "me asfixio",
    "no puedo coger aire",
    "me estoy quedando sin aire",
    "no puedo tragar ni respirar",
    "no puedo respirar por la nariz ni por la boca",
    "mi padre está morado",
    # sangrado
    "sangro muchísimo",
    "no me para de salir sangre",
    "no se para la sangre",
    "hago caca con sangre negra",
    "sale sangre por la boca",
    # alergia, ictus, conciencia
    "me picó una abeja y me estoy hinchando",
    "se le ha torcido la boca",
    "se le duerme medio cuerpo",
    "de repente no puedo hablar",
    "no puedo despertar a mi abuela",
    "perdí el sentido",
    "ha tenido un ataque",
    # demasiada medicina: por cantidad, por envase, por error, otra persona
    "me tomé un bote de pastillas",
    "tomé el doble de pastillas",
    "me he tomado diez pastillas",
    "me tomé todas mis pastillas de golpe",
    "mi marido se tomó todas sus pastillas",
    "mi hijo se tragó unas pastillas",
    "voy a tomarme todas las pastillas",
    "el niño se tomó el jarabe entero",
    "tomé pastillas de más",
    "tomé demasiada medicación",
    "me pasé con la insulina",
    "me inyecté mucha insulina",
    "me puse insulina dos veces",
    "me puse el triple de insulina",
    # autolesión, suicidio
    "quiero dejar de vivir",
    "ojalá me muriera",
    "prefiero estar muerta",
    "pienso en morirme todo el tiempo",
    "me voy a tirar por la ventana",
    "me voy a cortar",
    "me he cortado a propósito",
    "me he hecho cortes",
    # pedir ayuda, urgente ("no es urgente" no lo pide: tests below)
    "urgente",
    "ayuda por favor es urgente",
    "ayudaa urgente",
    "ayuda, ayuda",
    "necesito ayuda ya",
    "¡ayúdenme!",
    "que alguien me ayude",
    "manden ayuda",
    "es grave, ayuda",
    "necesito ir a urgencias ya",
    # azúcar de 20 a 54 (muy baja en mg/dl, muy alta en mmol/l)
    "tengo el azúcar en 40 y me estoy mareando",
    "el azúcar me dio 38",
    "me dio una bajada de azúcar muy fuerte",
]

# As the English guard does ("no chest pain" trips it), a negation does not keep it
# quiet: the words are there, a nurse reads the rest.
NEGADAS = ["no tengo dolor en el pecho", "no me falta el aire", "no quiero morir"]

ORDINARIOS = [
    "pechuga de pollo para cenar",
    "me tomé la pastilla de la presión",
    "la pastilla azul es para la presión",
    "me dieron unas pastillas azules",
    "mi presión es 135/85",
    "azúcar 7,2 esta mañana",
    "tengo un análisis de sangre el viernes",
    "tengo dolor de cabeza",
    "un poco de dolor de cabeza otra vez hoy",
    "me duele la garganta",
    "tengo la garganta inflamada",
    "tengo los tobillos un poco hinchados",
    "tengo los pies hinchados",
    "tengo los ojos hinchados",
    "me tomé todas mis pastillas de esta noche",
    "tomé todas las pastillas de hoy",
    "tomo 10 pastillas al día",
    "compré una caja entera de galletas",
    "pausa mis notificaciones por favor",
    "no puedo respirar por la nariz con este resfriado",
    "la radiografía del pecho es la semana que viene",
    "tengo granitos rojos en el pecho, me pican",
    "me hice daño en la rodilla en el jardín",
    "la espalda me está matando",
    "me muero de ganas de saber mi colesterol",
    "me muero de hambre",
    "estoy colapsada de trabajo",
    "aprobé el examen de conducir",
    "me mareo un poco al levantarme",
    "¿puedo tomar ibuprofeno?",
    "presión en los oídos en el avión",
    "se me acabaron las pastillas verdes",
    "olvidé la dosis de la noche",
    "posponer 10 min",
    "¿para qué es la metformina?",
    "gracias, adiós",
    "no puedo hablar ahora, estoy en el trabajo",
    "le dio un ataque de risa",
    "mi azúcar estuvo baja ayer pero ya estoy bien",
    "voy a cortarme el pelo",
    "me voy a hacer la cena",
    "tengo un derrame en el ojo",
    "mi madre se tomó sus pastillas",
    "me tomé todas las pastillas de la mañana",
    "socorro no sé usar esto",
    "tengo dudas con el azúcar, estoy confundido con la dieta",
    "¿qué tomo hoy?",
    "pausar recordatorios",
    # cerca de los nuevos: ayuda para usar la app, urgencias como pregunta, el corazón
    # como tema, azúcar en cifras normales, adherencia por periodo
    "ayuda",
    "ayúdame",
    "necesito ayuda con esto",
    "ayuda, soy nuevo",
    "¿debo ir a urgencias?",
    "¿es grave?",
    "consejos para el corazón",
    "¿será del corazón?",
    "tengo el corazón acelerado a veces",
    "gracias de corazón",
    "azúcar 110",
    "tengo el azúcar en 98",
    "glucosa 5,4",
    "azúcar 250 después de cenar",
    "¿me he tomado todas las pastillas esta semana?",
    "¿tomé todas mis pastillas este mes?",
    "¿puedo tomar el doble de metformina?",
    "me tomé el jarabe",
    "respiro muy bien",
    "me voy a cortar el pelo",
    "no puedo hablar contigo ahora",
    "ni hablar",
    "perdí el sentido del gusto",
    "se me hinchan los pies",
    "no es urgente, que me llame mañana la enfermera",
    "nada urgente, una pregunta sobre mis pastillas",
    "azúcar 6,1 esta mañana, estoy confundido con lo que puedo comer",
]


@pytest.mark.parametrize("text", EMERGENCIAS)
def test_spanish_emergency_wordings_trip_the_guard(text: str) -> None:
    assert is_red_flag(text)


@pytest.mark.parametrize("pattern", RED_FLAGS)
def test_each_spanish_pattern_is_tripped_by_an_example_on_its_own(pattern: str) -> None:
    """A pattern no example trips is dead or broken (two strings joined by a missing comma)."""
    assert any(re.search(pattern, plain(text)) for text in EMERGENCIAS)


@pytest.mark.parametrize("text", NEGADAS)
def test_a_negated_red_flag_still_trips_the_guard_as_in_english(text: str) -> None:
    assert is_red_flag(text)
    assert is_red_flag("i have no chest pain")


@pytest.mark.parametrize("text", ORDINARIOS)
def test_ordinary_spanish_messages_do_not_trip_the_guard(text: str) -> None:
    assert not is_red_flag(text)


@pytest.mark.parametrize("text", EMERGENCIAS)
def test_accents_and_capitals_do_not_matter(text: str) -> None:
    plain = text.translate(str.maketrans("áéíóúñÁÉÍÓÚÑ", "aeiounAEIOUN"))
    assert is_red_flag(plain.upper())


def test_the_guard_reads_every_language_in_one_message() -> None:
    # A patient set to English may write Spanish, or both.
    assert is_red_flag("hello, me duele el pecho")
    assert is_red_flag("ok gracias pero i can't breathe")
    assert is_red_flag("¿Opresión en el pecho?")


DIAGNOSTICOS = [
    "¿tengo diabetes?",
    "tengo diabetes?",
    "¿Tendré cáncer?",
    "¿puedo tener una infección?",
    "¿cree usted que tengo covid?",
    "¿será la gripe?",
    "¿podría ser un problema del corazón?",
    "¿qué me pasa?",
    "me duele la cabeza desde ayer, ¿qué me pasa?",
    "¿cuál es mi diagnóstico?",
    "¿tengo la presión alta?",
    "¿es posible que tenga enfermedad renal?",
    "el azúcar me dio 9 esta mañana, ¿tengo diabetes?",
    "¿soy diabético?",
    "¿es diabetes o algo más?",
]
NO_DIAGNOSTICOS = [
    "¿me quedan pastillas para hoy?",
    "¿tengo que tomarla con comida?",
    "¿tengo algo que tomar ahora?",
    "¿qué tengo mañana?",
    "¿tengo la vacuna de la gripe hoy?",
    "¿tengo pastillas para la diabetes esta noche?",
    "¿para qué es la metformina?",
    "consejos para mi diabetes",
    "tengo diabetes tipo 2 desde hace años",
    "¿qué me pasa si olvido una dosis?",
    "¿puedo tomar una copa de vino con la cena?",
    "tengo cita para la diabetes el lunes",
]


@pytest.mark.parametrize("text", DIAGNOSTICOS)
def test_a_spanish_diagnosis_question_goes_to_the_team(text: str) -> None:
    assert is_diagnosis_question(text)


@pytest.mark.parametrize("text", NO_DIAGNOSTICOS)
def test_spanish_plan_questions_that_sound_alike_are_not_diagnosis_questions(text: str) -> None:
    assert not is_diagnosis_question(text)


@pytest.mark.parametrize("pattern", DIAGNOSIS)
def test_each_spanish_diagnosis_pattern_is_asked_by_an_example(pattern: str) -> None:
    assert any(re.search(pattern, plain(text)) for text in DIAGNOSTICOS)


def test_english_diagnosis_questions_are_read_as_before() -> None:
    assert is_diagnosis_question("do i hav diabetis")
    assert is_diagnosis_question("could this be a heart problem")
    assert not is_diagnosis_question("do i have my flu jab today")
    assert not is_diagnosis_question("could i have a glass of wine with dinner")
